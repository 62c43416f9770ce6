"""Robust picture sets end to end, registry and matcher on loopback, SQLite: a case registers a
picture's hashes with its `pdq_robust` registration set (as `stopframe hash --robust` makes it),
and the matcher blocks a one-side crop, a mirror, a letterbox and a small rotation of it, each
re-encoded, which plain PDQ misses; unrelated and featureless pictures pass; withdrawing the set
stops the crop matching while the picture's PDQ entry still blocks a re-encoded copy."""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageOps
from tests.apps.matcher.servers import CASE_BANK, World, jpeg, reencoded

from stopframe.hashing.files import HashOptions
from stopframe.samples import sample_images
from stopframe.signals import PDQ_ROBUST


def crop_one_side(image: Image.Image) -> Image.Image:
    """5 % of the width cut from the left."""
    return image.crop((round(image.width * 0.05), 0, image.width, image.height))


def letterbox(image: Image.Image) -> Image.Image:
    """Black bars top and bottom, 15 % of the new frame's height each."""
    height = round(image.height / 0.7)
    bar = (height - image.height) // 2
    framed = Image.new("RGB", (image.width, height))
    framed.paste(image, (0, bar))
    return framed


def rotate_6(image: Image.Image) -> Image.Image:
    """Turned 6 degrees in the frame (expand=False): corners cut off, black corners in."""
    return image.rotate(6, expand=False)


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "crop 5% left": crop_one_side,
    "mirror": ImageOps.mirror,
    "letterbox 15%": letterbox,
    "rotate 6deg": rotate_6,
}


def test_robust_set_blocks_crop_mirror_letterbox_rotation_until_withdrawn(world: World) -> None:
    picture, unrelated, _allowed, other = sample_images()[:4]
    with Image.open(picture) as opened:
        original = opened.convert("RGB")
    uploads = {name: jpeg(change(original)) for name, change in TRANSFORMS.items()}
    crop = uploads["crop 5% left"]
    assert world.upload(crop)["decision"] == "none"

    ids = world.register(picture, HashOptions(robust=True))
    assert set(ids) == {"pdq", PDQ_ROBUST.name, "md5", "sha256"}
    world.until(lambda a: a["decision"] == "block", crop, limit=5.0)

    answers = {name: world.upload(data) for name, data in uploads.items()}
    assert {name: a["decision"] for name, a in answers.items()} == dict.fromkeys(
        TRANSFORMS, "block"
    )
    for answer in answers.values():  # plain PDQ is far off for each of these changes
        assert {m["kind"] for m in answer["matches"]} == {PDQ_ROBUST.name}, answer
    cropped = answers["crop 5% left"]["matches"]
    assert [(m["entry_id"], m["bank"]) for m in cropped] == [(ids[PDQ_ROBUST.name], CASE_BANK)]
    assert cropped[0]["distance"] <= PDQ_ROBUST.default_threshold

    for path in (unrelated, other):
        answer = world.upload(reencoded(path))
        assert (answer["decision"], answer["matches"]) == ("none", []), path.name
    flat = world.upload(jpeg(Image.new("RGB", (320, 240), (128, 128, 128))))
    assert (flat["decision"], flat["matches"]) == ("none", [])  # no usable hash: no robust query

    world.withdraw(ids[PDQ_ROBUST.name])
    world.until(lambda a: a["decision"] == "none", crop, limit=5.0)
    assert world.upload(crop)["matches"] == []
    still = world.upload(reencoded(picture))  # the picture's PDQ entry is still listed
    assert still["decision"] == "block"
    assert {m["kind"] for m in still["matches"]} == {"pdq"}
