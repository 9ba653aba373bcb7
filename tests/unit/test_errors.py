import pickle

import pytest

from contractsync.errors import (
    AmbiguousCommitError,
    ConfigError,
    ContractSyncError,
    DataError,
    TransientError,
)


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("CONTRACTSYNC_TRYTON__URL is not a URL"),
        TransientError("Tryton answered 503", retry_after=2.5, detail={"system": "tryton"}),
        DataError("milestone M1 has no amount", code="data.milestone_amount"),
        AmbiguousCommitError("timeout after sending the invoice"),
    ],
)
def test_errors_survive_pickling_with_all_their_context(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.as_dict() == error.as_dict()
    assert getattr(copy, "retry_after", None) == getattr(error, "retry_after", None)


def test_an_error_says_its_code_and_what_to_do_next():
    error = ConfigError("bad url")
    assert str(error) == "[config.invalid] bad url"
    assert "restart" in error.remediation
    assert isinstance(error, ContractSyncError)
    assert error.as_dict()["kind"] == "ConfigError"
