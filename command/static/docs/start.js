// The API's reference, drawn from the app's own /openapi.json by the Swagger UI the app serves
// (ops/web): nothing is loaded from another site, so it works in a centre without internet.
"use strict";
window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
