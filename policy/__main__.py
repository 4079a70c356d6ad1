"""The pack's program: `python -m pulumi.policy ENGINE_ADDRESS policy/` runs this file.

It runs with the pack folder first on sys.path; the project (its `components` and this `policy`
package) is the folder above it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy.pack import serve  # noqa: E402

serve()
