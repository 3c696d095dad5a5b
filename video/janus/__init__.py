"""Janus, the video consultations' SFU: a typed client of its API over the websocket transport
(``client``), the VideoRoom plugin's requests (``videoroom``) and the media plane on them
(``plane``)."""
