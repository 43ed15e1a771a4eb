"""Where the real FreeSWITCH captures are: ``$FSROUTER_CAPTURES``, else ``shared/esl-sessions``
beside the checkout (as laid out for developers and CI). Tests that need them skip when absent."""

import os
from pathlib import Path

CAPTURES = Path(os.environ.get("FSROUTER_CAPTURES")
                or Path(__file__).resolve().parents[1].parent / "shared" / "esl-sessions")
