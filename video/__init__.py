"""Video consultation (视频会商): sessions, WebRTC signaling, media relay and recording.

Next milestone."""
