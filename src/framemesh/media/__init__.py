"""Video in and out: probing, segmenting, transcoding to a rendition ladder, HLS
playlists, and checks that a rendition really is the source at another size.

Everything here uses PyAV (the FFmpeg libraries bundled in its wheel); no `ffmpeg`
command line is needed. Modules, each with one job:

- `errors`    the error hierarchy
- `profiles`  rendition profiles and ladder planning (pure, no I/O)
- `probe`     what a file holds; refuses anything that is not a decodable video
- `plan`      the renditions a file becomes for a set of profiles, and its duration
- `segment`   cut a source into keyframe-aligned segments by stream copy
- `keyframes` re-encode a source whose keyframes are too sparse to cut
- `transcode` one segment -> one fragmented MP4 per rendition (decode once)
- `encoder`   one rendition's encoder thread (scale, H.264 + AAC, fMP4 mux)
- `hls`       assemble rendition segments into an HLS (fMP4) ladder
- `mp4`       the few MP4 box facts HLS needs (box offsets, codec strings)
- `check`     verify that a rendition is the source segment at another size
- `psnr`      the picture-comparison maths behind `check` (pure)
- `testclip`  synthesise test clips with motion, detail and sound
"""
