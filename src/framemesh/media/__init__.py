"""Video in and out: probing, segmenting, transcoding to a rendition ladder, HLS
playlists, and checks that a rendition really is the source at another size.

Everything here uses PyAV (the FFmpeg libraries bundled in its wheel); no `ffmpeg`
command line is needed. Modules, each with one job:

- `errors`    the error hierarchy
- `profiles`  rendition profiles and ladder planning (pure, no I/O)
- `probe`     what a file holds; refuses anything that is not a decodable video
- `segment`   cut a source into keyframe-aligned segments by stream copy
- `transcode` one segment -> one fragmented MP4 per rendition
- `hls`       assemble rendition segments into an HLS (fMP4) ladder
- `check`     verify that a rendition is the source segment at another size
- `psnr`      the picture-comparison maths behind `check` (pure)
- `testclip`  synthesise test clips with motion, detail and sound
"""
