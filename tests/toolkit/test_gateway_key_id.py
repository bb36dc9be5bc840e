"""The key-id rule sits between gateway answers and URL paths: it must take every id a real gateway hands out
(a WSO2 consumer key may start with "_") and refuse what could climb a path or look like an option."""
import pytest

from tests.integrations.gateway.fakes.wso2_fake_devportal import wso2_random
from toolkit.errors import InvalidInputError
from toolkit.ports.gateway import require_key_id


@pytest.mark.parametrize("key_id", ["_c3ivDBFqvBTrAO4PuaiP16gzxI", "fOCi4vNJ59PpHucC2CAYfYuADdMa",
                                    "0f8e2d3c-6a1b-4c5d-9e7f-123456789abc", "Xy9" * 7])
def test_ids_real_gateways_issue_are_taken(key_id: str) -> None:
    assert require_key_id(key_id) == key_id


def test_every_shape_of_wso2_key_is_taken() -> None:
    for _ in range(2000):  # ~31 of these start with "_"
        key = wso2_random()
        assert require_key_id(key) == key


@pytest.mark.parametrize("key_id", ["", "-rf", ".", "..", "../x", "a/b", "a b", "a\nb", "k$(id)", "a;b",
                                    "{{7*7}}", "x" * 129])
def test_path_or_option_shapes_are_refused(key_id: str) -> None:
    with pytest.raises(InvalidInputError, match="not a gateway key id"):
        require_key_id(key_id)
