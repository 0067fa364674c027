"""The clips the end-to-end tests send: 640x360 so 360p and 240p are real downscales,
6 s so the gateway cuts three 2 s segments."""

CLIP_W, CLIP_H, CLIP_SECONDS = 640, 360, 6.0
PROFILES = "360p,240p"
EXPECTED = {"360p": (640, 360), "240p": (426, 240)}
