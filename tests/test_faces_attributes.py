"""HSE FaceRec's age and gender estimates on real photos of ../shared/data/faces: only what was checked by eye and
by the people's known ages (LFW politicians in their fifties to seventies, Kit Harington photographed around 30)."""

from __future__ import annotations

import numpy as np
import pytest

from core.faces.attributes import MALE_AT, AgeGender, age_from_distribution, estimate_photo
from core.faces.collection import Photo, analyze_photos, photos_from_folder, primary_face

MEN = ("Colin_Powell", "George_W_Bush", "Tony_Blair", "Vladimir_Putin")  # the demo's LFW men, first 3 photos each
WOMEN = ("Kate_Siegel", "Rose_Leslie", "openface_adams")  # every photo of the women in the set (4)


def photos_of(data_dir, people, count=None):
    return [photo for person in people for photo in photos_from_folder(data_dir / "faces" / person)[:count]]


def subject(photo: Photo) -> AgeGender:
    """The estimate for the photo's largest face (the labelled person)."""
    (result,) = analyze_photos([photo], "hse_faceres")
    return estimate_photo(photo)[primary_face(result).index]


def test_age_is_one_plus_the_weighted_mean_of_the_two_likeliest_bins():
    distribution = np.zeros((3, 100))
    distribution[0, 29] = 1.0  # bin 29: 30 years
    distribution[1, [40, 50]] = [0.3, 0.1]  # 1 + (40 * 0.3 + 50 * 0.1) / 0.4
    distribution[1, 0] = 0.05  # third likeliest: ignored
    distribution[2] = 0.01
    distribution[2, 99] = 0.02  # a tie below the top bin: the first of the tied bins
    assert age_from_distribution(distribution) == pytest.approx([30.0, 43.5, 1 + (99 * 0.02 + 0 * 0.01) / 0.03])


def test_gender_estimates_of_known_men_and_women(data_dir):
    men = [subject(photo) for photo in photos_of(data_dir, MEN, 3)]
    women = [subject(photo) for photo in photos_of(data_dir, WOMEN)]
    assert len(men) == 12 and len(women) == 4
    assert all(guess.gender == "male" and guess.male_score > 0.9 for guess in men), men
    assert all(guess.gender == "female" and guess.male_score < 0.1 for guess in women), women
    assert AgeGender(40, MALE_AT).gender == "male" and AgeGender(40, MALE_AT - 1e-6).gender == "female"


def test_age_estimates_put_a_thirty_year_old_below_a_man_in_his_seventies(data_dir):
    young = [subject(photo).age for photo in photos_of(data_dir, ["Kit_Harington"])]
    old = [subject(photo).age for photo in photos_of(data_dir, ["Ariel_Sharon"], 3)]
    assert len(young) == 3 and len(old) == 3
    assert max(young) < 40 < 60 < min(old), (young, old)
    assert all(1 <= age <= 100 for age in young + old)


def test_every_face_of_a_two_person_photo_gets_an_estimate_and_they_are_cached(data_dir):
    path = data_dir / "faces_multi" / "face_recognition_kit_with_rose.jpg"
    photo = Photo(path.name, None, path.read_bytes())
    (result,) = analyze_photos([photo], "hse_faceres")
    guesses = estimate_photo(photo)
    assert len(guesses) == len(result.faces) >= 2
    assert {guess.gender for guess in guesses} == {"male", "female"}  # Kit Harington and Rose Leslie
    assert estimate_photo(photo) == guesses  # read back from the disk cache: the same numbers
    assert "age ≈" in guesses[0].describe() and guesses[0].gender in guesses[0].describe()


def test_an_unreadable_photo_has_no_estimates(data_dir):
    assert estimate_photo(Photo("broken.jpg", None, b"not a jpeg")) == []
    assert estimate_photo(Photo("gone.jpg", None, b"", error="gone.jpg: cannot read the file")) == []
    panda = data_dir / "imagenet_samples" / "images" / "n02510455_giant_panda.JPEG"  # a panda: no human face
    assert estimate_photo(Photo(panda.name, None, panda.read_bytes())) == []
