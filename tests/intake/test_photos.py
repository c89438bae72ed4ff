"""Photos are opened as images whatever they claim to be, cleaned of their metadata, and kept by hash."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from core.errors import InvalidData
from intake.photos import MAX_PHOTO_BYTES, MAX_PIXELS, MAX_SIDE, clean_photo


def jpeg_with_gps(size: tuple[int, int] = (640, 480), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[2] = (22.0, 34.0, 50.0)  # GPSLatitude: a resident's home
    gps[1] = "N"
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def reasons(exc: pytest.ExceptionInfo[InvalidData]) -> list[str]:
    assert exc.value.fields is not None
    return list(exc.value.fields["photo"])


def test_a_jpeg_is_kept_without_its_gps_position_or_any_other_metadata():
    raw = jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # it had one

    photo = clean_photo(raw)

    kept = Image.open(io.BytesIO(photo.data))
    assert (photo.content_type, photo.extension, kept.format) == ("image/jpeg", ".jpg", "JPEG")
    assert not kept.getexif() and not kept.getexif().get_ifd(0x8825)
    assert (photo.width, photo.height) == (640, 480)


def test_a_photo_taken_sideways_is_turned_upright_and_a_large_one_scaled_down():
    sideways = clean_photo(jpeg_with_gps((600, 400), orientation=6))  # rotated 90° by the camera
    large = clean_photo(jpeg_with_gps((MAX_SIDE * 2, MAX_SIDE)))

    assert (sideways.width, sideways.height) == (400, 600)
    assert max(large.width, large.height) == MAX_SIDE


@pytest.mark.parametrize("fmt, content_type", [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_are_taken_too(fmt, content_type):
    out = io.BytesIO()
    Image.new("RGB", (50, 40), (0, 120, 0)).save(out, fmt)

    assert clean_photo(out.getvalue()).content_type == content_type


@pytest.mark.parametrize("data, reason", [
    (b"", "空文件"),
    (b"%PDF-1.4 not an image at all", "无法识别为图片"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "无法识别为图片"),  # a JPEG's first bytes and nothing else
])
def test_what_is_not_a_usable_image_is_refused_on_the_photo_field(data, reason):
    with pytest.raises(InvalidData) as exc:
        clean_photo(data)

    assert reason in reasons(exc)[0]


def test_a_gif_is_refused_by_its_content_whatever_its_name():
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")

    with pytest.raises(InvalidData) as exc:
        clean_photo(out.getvalue())

    assert "JPEG、PNG 或 WebP" in reasons(exc)[0]


def test_a_truncated_file_is_refused():
    raw = jpeg_with_gps()

    with pytest.raises(InvalidData) as exc:
        clean_photo(raw[: len(raw) // 2])

    assert reasons(exc)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    side = int(MAX_PIXELS ** 0.5) + 100  # a few KB of PNG that would decode into ~160 MB
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    assert len(out.getvalue()) < 1024 * 1024

    with pytest.raises(InvalidData) as exc:
        clean_photo(out.getvalue())

    assert "像素过多" in reasons(exc)[0]


def test_a_file_over_the_limit_is_refused_unread():
    with pytest.raises(InvalidData) as exc:
        clean_photo(b"\xff" * (MAX_PHOTO_BYTES + 1))

    assert "10 MB" in reasons(exc)[0]


def test_the_gps_position_is_read_before_it_is_stripped():
    photo = clean_photo(jpeg_with_gps())  # 22°34'50" N; no longitude: not a usable position

    image = Image.new("RGB", (300, 200))
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (22.0, 34.0, 48.0), "E", (113.0, 52.0, 54.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    placed = clean_photo(out.getvalue())

    assert photo.position is None
    assert placed.position == pytest.approx((113.881667, 22.58), abs=1e-5)
    assert not Image.open(io.BytesIO(placed.data)).getexif().get_ifd(0x8825)


def test_a_thumbnail_is_kept_beside_each_photo():
    photo = clean_photo(jpeg_with_gps((1600, 1200)))

    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert max(thumb.size) == 480 and thumb.size[0] / thumb.size[1] == pytest.approx(4 / 3, abs=0.01)


def test_the_folder_store_keeps_whole_files_and_gives_nothing_outside_itself(tmp_path):
    from intake.photos import FolderStore
    store = FolderStore(tmp_path)

    store.put("a.jpg", b"one")
    store.put("a.jpg", b"two")  # the same name is the same bytes: kept once

    assert store.get("a.jpg") == b"one" and store.get("missing.jpg") is None
    assert store.get("../" + tmp_path.name + "/a.jpg") is None
    assert [p.name for p in tmp_path.iterdir()] == ["a.jpg"]  # no temporary file left behind
