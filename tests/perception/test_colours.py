"""Naming the dominant colour of a product photo."""

from PIL import Image, ImageDraw

from tools.perception.colours import dominant_colour, name_colour


def test_names_are_the_nearest_reference_colour():
    assert name_colour((10, 10, 10)) == "black"
    assert name_colour((30, 40, 210)) == "blue"
    assert name_colour((210, 40, 40)) == "red"


def test_dominant_colour_ignores_the_white_background(tmp_path):
    image = Image.new("RGB", (600, 500), "white")
    ImageDraw.Draw(image).rectangle((100, 100, 300, 400), fill=(200, 30, 35))  # a red product on white
    ImageDraw.Draw(image).rectangle((320, 100, 340, 120), fill=(30, 30, 30))  # a small dark detail
    path = tmp_path / "photo.png"
    image.save(path)
    assert dominant_colour(path, (0, 0, 600, 500)) == "red"
    assert dominant_colour(path, (400, 0, 600, 500)) is None  # only background there
