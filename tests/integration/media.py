"""The real ffmpeg CLI as publisher, and ffprobe to read back what shopcast wrote."""
import json
import subprocess


# A picture that never changes: a table (flat colour) with a jar on it (a drawn box). Every
# frame is the same, as when a seller's camera looks at a product standing still.
STILL = ("color=c=0xc89650:size={size}:rate={fps},"
         "drawbox=x=iw/3:y=ih/4:w=iw/3:h=ih/2:color=0x603010:t=fill")
MOVING = "testsrc2=size={size}:rate={fps}"


def publish(url, seconds=10, size="640x360", fps=30, rate=48000, channels=2, vcodec="libx264",
            extra=(), picture=MOVING, bitrate="1000k"):
    """Starts ffmpeg publishing a picture (the moving test pattern unless told) and a tone in real
    time (-re), like an encoder.

    Returns the Popen; its exit status tells whether the server accepted the stream."""
    gop = 2 * fps
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", picture.format(size=size, fps=fps),
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=%d" % rate,
            "-t", str(seconds), "-c:v", vcodec, "-preset", "veryfast", "-g", str(gop),
            "-pix_fmt", "yuv420p", "-b:v", bitrate,
            "-c:a", "aac", "-b:a", "96k", "-ac", str(channels)]
    args += list(extra) + ["-f", "flv", url]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def probe(path):
    """Streams and format of a media file, frames counted by decoding the packets' headers."""
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_streams",
                          "-show_format", "-of", "json", path],
                         check=True, capture_output=True, text=True).stdout
    info = json.loads(out)
    streams = {s["codec_type"]: s for s in info["streams"]}
    return streams, info["format"]
