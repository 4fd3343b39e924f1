"""The README's copy-paste example for POST /inbound signs the way the endpoint checks: its own shell lines
(printf, openssl, sed) are run with a fixed timestamp and compared with handlers.inbound.sign."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.inbound import sign

readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
block = next(b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "X-Followup-Signature" in b)
lines = block.splitlines()
body_line = next(ln for ln in lines if ln.startswith("body="))
sig_line = next(ln for ln in lines if ln.startswith("sig="))
script = f'{body_line}\nts=1764100000\n{sig_line}\nprintf \'%s\\n%s\' "$body" "$sig"\n'
env = {**os.environ, "INBOUND_SIGNING_SECRET": "example-secret"}
out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, check=True).stdout
body, sig = out.rsplit("\n", 1)
expected = sign("example-secret", "1764100000", body.encode())
if "v1=" + sig != expected:
    sys.exit(f"README's /inbound example signs {body!r} as v1={sig}, the endpoint expects {expected}")
if '-H "X-Followup-Signature: v1=$sig"' not in block or '-H "X-Followup-Timestamp: $ts"' not in block:
    sys.exit("README's /inbound example does not send both X-Followup-Timestamp and X-Followup-Signature")
print("README's /inbound example signs as the endpoint checks")
