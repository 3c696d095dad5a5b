// The consoles' keyboard shortcuts: one table of what each key does, and the registry the
// screens hand their actions to while they are shown. Keys are matched by their physical code
// (KeyL, F2, Digit1), so they work the same with a Chinese input method or another layout.

export interface KeyLike {
  code: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
}

export interface Shortcut {
  action: string;
  code: string;
  alt: boolean;
}

function alt(action: string, code: string): Shortcut {
  return { action, code, alt: true };
}

/** Every shortcut; a screen's help lists those whose action the screen has. */
export const SHORTCUTS: readonly Shortcut[] = [
  { action: "help", code: "F1", alt: false },
  { action: "command", code: "F2", alt: false },
  alt("language", "KeyL"),
  // the dispatcher's map
  alt("queue", "KeyQ"),
  alt("nextIncident", "ArrowDown"),
  alt("previousIncident", "ArrowUp"),
  alt("recommend", "KeyR"),
  alt("assignRecommended", "KeyA"),
  // the call-taker's desk
  alt("takePop", "KeyT"),
  alt("address", "KeyD"),
  alt("saveIncident", "KeyS"),
  alt("attachDuplicate", "KeyY"),
  alt("pauseResume", "KeyP"),
  // the field terminal
  alt("acknowledge", "KeyK"),
  alt("status1", "Digit1"),
  alt("status2", "Digit2"),
  alt("status3", "Digit3"),
  alt("status4", "Digit4"),
  alt("message", "KeyM"),
  // consultations
  alt("joinConsultation", "KeyJ"),
  alt("leaveConsultation", "KeyX"),
];

/** The shortcut's keys as people write them: "Alt+L", "F2", "Alt+↓". */
export function keysOf(shortcut: Shortcut): string {
  const names: Record<string, string> = { ArrowDown: "↓", ArrowUp: "↑" };
  const key = names[shortcut.code] ?? shortcut.code.replace(/^(Key|Digit)/, "");
  return shortcut.alt ? `Alt+${key}` : key;
}

/** The action ``event`` asks for, or null (Ctrl, Meta and Shift combinations are the browser's). */
export function actionOf(event: KeyLike, table: readonly Shortcut[] = SHORTCUTS): string | null {
  if (event.ctrlKey || event.metaKey || event.shiftKey) return null;
  const found = table.find((s) => s.code === event.code && s.alt === event.altKey);
  return found?.action ?? null;
}

type Handler = () => void;

/** What each action does on the screens shown now; the one registered last wins (a dialog over
 * a screen takes the key), and the previous one is back when it goes. */
export class Shortcuts {
  private readonly handlers = new Map<string, Handler[]>();

  constructor(private readonly table: readonly Shortcut[] = SHORTCUTS) {}

  on(action: string, handler: Handler): () => void {
    if (!this.table.some((s) => s.action === action)) throw new Error(`no shortcut for ${action}`);
    const stack = this.handlers.get(action) ?? [];
    stack.push(handler);
    this.handlers.set(action, stack);
    return () => {
      const at = stack.lastIndexOf(handler);
      if (at >= 0) stack.splice(at, 1);
    };
  }

  /** The shortcuts that do something now, in the table's order. */
  available(): Shortcut[] {
    return this.table.filter((s) => (this.handlers.get(s.action) ?? []).length > 0);
  }

  /** Runs the action of ``event``; true when it was one (the browser's default is then not wanted). */
  handle(event: KeyLike): boolean {
    const action = actionOf(event, this.table);
    const stack = action === null ? undefined : this.handlers.get(action);
    const handler = stack?.[stack.length - 1];
    if (handler === undefined) return false;
    handler();
    return true;
  }
}
