"""HEVC ingest as newer OBS sends it (Enhanced RTMP, FourCC hvc1) and as the codec-id-12 variant."""
import subprocess

import pytest

from conftest import wait_until
from media import probe
from rtmp_client import Publisher, extract, video_tag


@pytest.fixture(scope="module")
def hevc_clip(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("clip") / "hevc.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
                    "-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "3",
                    "-c:v", "libx265", "-preset", "ultrafast",
                    "-x265-params", "log-level=error:keyint=30", "-tag:v", "hvc1",
                    "-c:a", "aac", "-ac", "2", path], check=True)
    return extract(path)


@pytest.mark.parametrize("style", ["ertmp", "id12"])
def test_hevc_publish_is_recorded(shopcast, hevc_clip, style):
    s = shopcast.create_stream("Edible fungus")
    pub = Publisher("127.0.0.1", shopcast.rtmp_port)
    assert pub.publish(s["key"]), pub.received
    st = wait_until(lambda: shopcast.stream(s["id"])["live"] and shopcast.stream(s["id"]), 10,
                    "live")
    end = pub.send_media(hevc_clip, style)
    pub.send(9, end, video_tag(style, "end"))
    st = wait_until(lambda: (lambda x: x if x["video"] else None)(shopcast.stream(s["id"])), 10,
                    "video format reported")
    assert st["video"]["codec"] == "hevc"
    assert (st["video"]["width"], st["video"]["height"]) == (320, 240)
    pub.unpublish(s["key"])
    wait_until(lambda: "record_end" in shopcast.read_log(), 10, "recording closed")
    streams, fmt = probe(shopcast.recordings(s["id"])[0])
    assert streams["video"]["codec_name"] == "hevc"
    assert (streams["video"]["width"], streams["video"]["height"]) == (320, 240)
    assert int(streams["video"]["nb_read_packets"]) == len(hevc_clip["video"]["packets"])
    assert int(streams["audio"]["nb_read_packets"]) == len(hevc_clip["audio"]["packets"])
    # The recording decodes: every frame the encoder made comes back out of it.
    frames = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
                             "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
                             shopcast.recordings(s["id"])[0]],
                            check=True, capture_output=True, text=True).stdout.strip()
    assert int(frames) == len(hevc_clip["video"]["packets"])
