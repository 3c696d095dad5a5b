"""Consultations on incidents (视频会商): store, service, live media state, attachments."""
