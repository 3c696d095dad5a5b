// The consoles are built into the app's static files and served by it at /app/.
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vitest/config";

export default defineConfig({
  base: "/app/",
  plugins: [vue()],
  build: {
    outDir: "../command/static/app",
    emptyOutDir: true,
    // No inline script or style anywhere: the app's content policy forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  test: {
    environment: "node",
    include: ["tests/**/*.test.ts"],
  },
});
