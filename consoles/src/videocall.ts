// Joining a video consultation from a screen (the consultations panel, the field terminal):
// the signaling socket with the signed-in token, the device's camera and microphone, what the
// call is in, the others' video and who is in. One call at a time; left when the screen goes.
import { onUnmounted, ref } from "vue";

import { ConsultationCall, type CallState, type Frame, type RemoteMedia, type Someone } from "./consultation";
import { useContext } from "./context";

export interface CallHooks {
  /** A frame the call does not handle itself (layer, muted...). */
  onFrame?: (frame: Frame) => void;
}

/** Shows ``stream`` in ``el`` (a template's function ref), once. */
export function shown(el: unknown, stream: MediaStream | null): void {
  if (el instanceof HTMLVideoElement && el.srcObject !== stream) el.srcObject = stream;
}

export function useVideoCall(hooks: CallHooks = {}) {
  const { session } = useContext();
  /** The consultation joined (null: none). */
  const joined = ref<number | null>(null);
  const state = ref<CallState | null>(null);
  const reason = ref("");
  const remote = ref<RemoteMedia[]>([]);
  const people = ref<Someone[]>([]);
  /** The device's own camera, once it sends. */
  const local = ref<MediaStream | null>(null);
  let call: ConsultationCall | null = null;

  function join(id: number): void {
    if (call !== null) void call.leave();
    joined.value = id;
    remote.value = [];
    people.value = [];
    local.value = null;
    call = new ConsultationCall({
      open: () => {
        const scheme = window.location.protocol === "https:" ? "wss" : "ws";
        const token = encodeURIComponent(session.state.token ?? "");
        return new WebSocket(`${scheme}://${window.location.host}/api/v1/consultations/${id}/ws?token=${token}`);
      },
      camera: async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        local.value = stream;
        return stream;
      },
      onState: (next, why) => {
        state.value = next;
        reason.value = why;
      },
      onRemote: (media) => {
        if (media.kind !== "video") return;
        remote.value = [...remote.value.filter((r) => r.mid !== media.mid), media];
      },
      onFrame: (frame) => hooks.onFrame?.(frame),
      onPeople: (now) => {
        people.value = now;
      },
    });
    call.join();
  }

  async function leave(): Promise<void> {
    const leaving = call;
    call = null;
    try {
      await leaving?.leave();
    } finally {
      joined.value = null;
      state.value = null;
      reason.value = "";
      remote.value = [];
      people.value = [];
      local.value = null;
    }
  }

  onUnmounted(() => void call?.leave());

  return { joined, state, reason, remote, people, local, join, leave };
}
