"""The current JavaScript SDKs against the real binary (node, with the packages pinned in
`interop/js/package.json`, installed by scripts/test): `@azure/arm-keyvault` 5.0.0 sends
api-version 2026-02-01, `@azure/arm-cognitiveservices` 8.1.0's `beginUpdateAndWait` follows
`Location` and must end with the account, and the `openai` client's `files.create` sends the
`file` part before `purpose`. `interop/js/resolve.cjs` resolves `*.localhost` for node."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, STORE

JS = ROOT / "interop" / "js"
READY = (JS / "node_modules" / "openai").exists() and shutil.which("node")

if not READY and os.environ.get("CI"):
    raise RuntimeError("the JavaScript SDKs are missing: scripts/test installs them into interop/js/node_modules")
pytestmark = [
    pytest.mark.skipif(not READY, reason="npm install --prefix interop/js (scripts/test does)"),
    pytest.mark.skipif(STORE != "embedded", reason="wire compatibility: embedded pass only"),
]


def test_javascript_clients(keyhold):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHOLD_")}
    env.update({"BOOT": str(keyhold.data_dir / "bootstrap.json"), "NODE_EXTRA_CA_CERTS": keyhold.ca})
    done = subprocess.run(["node", "--require", str(JS / "resolve.cjs"), str(JS / "clients.mjs")],
                          env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr + done.stdout
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["vault"] == {"name": "kv-js", "vaultUri": f"https://kv-js.vault.localhost:{keyhold.port}/"}
    assert "kv-js" in result["vaults"]
    # The account itself, not the operation status `{status: "Succeeded"}`.
    assert result["updated"] == {"name": "ai-js", "kind": "OpenAI", "tags": {"step": "js"}, "status": None}
    assert result["file"]["status"] == "processed" and result["file"]["purpose"] == "fine-tune"
    assert result["file"]["roundTrip"] is True
