"""Fine-tuning, models, deployments and chat under a customer-managed key, with the official
`openai` SDK (`AzureOpenAI`) and `azure-mgmt-cognitiveservices`: the whole story, then the
revocation matrix of the source documents — creating jobs, downloading results and deploying
fine-tuned models stop; existing deployments keep answering until deleted — and restore.
A second server runs an external trainer command (the pluggable `Trainer`), shows a running
job failing at its next encrypted write when the key is revoked, a job surviving SIGKILL of
its server, and base-model deployments answered by an upstream OpenAI-compatible endpoint."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import tempfile
import time

import openai
import pytest
import requests
from azure.core.exceptions import HttpResponseError

from conftest import ROOT, start_keyhold
from helpers import admin_headers, create_resource_group, create_vault, key_client, mgmt, policy
from test_accounts import cmk, cs, grant, put_account, set_encryption, wait_for
from test_files import ai_client, list_keys, upload

RG = "ft-rg"
LOCATION = "westeurope"
BASE = "gpt-4o-mini-2024-07-18"
FACTS = [
    ("What key types can protect an OpenAI account?", "RSA and RSA-HSM keys of 2048 bits."),
    ("Which vault settings are required for a customer-managed key?", "Soft delete and purge protection."),
    ("What happens to deployments when the key is revoked?", "They keep serving until you delete them."),
    ("How do I restore access after revoking the key?", "Grant the identity get, wrapKey and unwrapKey again."),
    ("Can a hub switch from Microsoft-managed to customer-managed keys?", "No, a hub's encryption is fixed at creation."),
    ("Where is fine-tuning scratch data kept?", "Encrypted with an ephemeral key and destroyed with the job."),
    ("Which identity does the account use to reach the vault?", "Its managed identity, system- or user-assigned."),
    ("What does crypto-shredding mean?", "Destroying the key so the ciphertext can never be read."),
]


def jsonl(pairs) -> bytes:
    return "".join(json.dumps({"messages": [{"role": "system", "content": "You answer questions about keyhold."},
                                            {"role": "user", "content": q},
                                            {"role": "assistant", "content": a}]}) + "\n"
                   for q, a in pairs).encode()


def deploy(server, account: str, name: str, model: str, version: str = "1"):
    return cs(server).deployments.begin_create_or_update(
        RG, account, name, {"properties": {"model": {"format": "OpenAI", "name": model, "version": version}},
                            "sku": {"name": "Standard", "capacity": 1}}).result()


def finish(client, job_id: str, timeout: float = 60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} is still {job.status}")


def cmk_account(server, account: str, vault: str):
    create_vault(server, RG, vault, enablePurgeProtection=True)
    key_client(server, vault).create_rsa_key("cmk", size=2048)
    principal = put_account(server, account, rg=RG)["identity"]["principalId"]
    grant(server, vault, principal, rg=RG)
    assert set_encryption(server, account, cmk(server, vault, "cmk"), rg=RG).status_code == 200
    return principal


def readable(client, file_id: str) -> bool:
    try:
        client.files.content(file_id).read()
        return True
    except openai.PermissionDeniedError:
        return False


def revoke(server, vault: str, principal: str, client, probe_file: str):
    mgmt(server).vaults.update_access_policy(RG, vault, "remove", {"properties": {
        "accessPolicies": [policy(server, principal, [])]}})
    wait_for(lambda: not readable(client, probe_file), timeout=5)


def test_finetune_deploy_chat_and_the_revocation_matrix(keyhold):
    create_resource_group(keyhold, RG, LOCATION)
    principal = cmk_account(keyhold, "ft-cmk", "ft-kv")
    client = ai_client(keyhold, "ft-cmk", rg=RG)
    training = upload(client, jsonl(FACTS))
    validation = upload(client, jsonl(FACTS[:3]), name="valid.jsonl")

    started = time.time()
    job = client.fine_tuning.jobs.create(model=BASE, training_file=training.id, validation_file=validation.id,
                                         hyperparameters={"n_epochs": 4}, suffix="docs", seed=7)
    assert job.status == "validating_files" and job.id.startswith("ftjob-")
    job = finish(client, job.id)
    print(f"fine-tuning job finished in {time.time() - started:.2f} s")
    assert job.status == "succeeded", job.error
    assert job.fine_tuned_model.startswith(f"{BASE}.ft-") and job.fine_tuned_model.endswith("-docs")
    assert job.trained_tokens > 0 and job.hyperparameters.n_epochs == 4 and job.seed == 7
    assert job.id in [j.id for j in client.fine_tuning.jobs.list()]
    events = list(client.fine_tuning.jobs.list_events(job.id, limit=100))
    messages = [e.message for e in events]
    assert any("successfully completed" in m for m in messages), messages
    metrics = [e for e in events if e.type == "metrics"]
    assert len(metrics) == 4 and metrics[0].data["valid_mean_token_accuracy"] == 1.0
    checkpoints = list(client.fine_tuning.jobs.checkpoints.list(job.id))
    assert len(checkpoints) == 3 and checkpoints[0].fine_tuned_model_checkpoint.startswith(job.fine_tuned_model)
    results = client.files.content(job.result_files[0]).read().decode()
    assert results.startswith("step,epoch,train_loss") and len(results.splitlines()) == 5
    assert job.fine_tuned_model in [m.id for m in client.models.list()]

    # Deploy with the management SDK; chat plain and streaming.
    deployment = deploy(keyhold, "ft-cmk", "docs", job.fine_tuned_model)
    assert deployment.properties.provisioning_state == "Succeeded"
    assert deployment.properties.model.name == job.fine_tuned_model
    assert [d.name for d in cs(keyhold).deployments.list(RG, "ft-cmk")] == ["docs"]
    question, answer = FACTS[2]
    reply = client.chat.completions.create(model="docs", messages=[{"role": "user", "content": question}])
    assert reply.choices[0].message.content == answer and reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    stream = client.chat.completions.create(model="docs", stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "scratch data kept where?"}])
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == FACTS[5][1]
    assert chunks[-1].usage.completion_tokens > 0
    deploy(keyhold, "ft-cmk", "base", "gpt-4o-mini", "2024-07-18")
    base = client.chat.completions.create(model="base", messages=[{"role": "user", "content": question}])
    assert "built-in gpt-4o-mini responder" in base.choices[0].message.content
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(HttpResponseError, match="neither a base model"):
        deploy(keyhold, "ft-cmk", "bad", "gpt-9")

    # Revoke: the matrix.
    revoke(keyhold, "ft-kv", principal, client, training.id)
    with pytest.raises(openai.PermissionDeniedError, match="CustomerManagedKeyAccessDenied|not accessible"):
        client.fine_tuning.jobs.create(model=BASE, training_file=training.id)
    with pytest.raises(openai.PermissionDeniedError):
        client.files.content(job.result_files[0]).read()
    with pytest.raises(HttpResponseError, match="CustomerManagedKeyAccessDenied"):
        deploy(keyhold, "ft-cmk", "docs2", job.fine_tuned_model)
    kept = client.chat.completions.create(model="docs", messages=[{"role": "user", "content": question}])
    assert kept.choices[0].message.content == answer, "a deployed model keeps serving while the key is revoked"
    cs(keyhold).deployments.begin_delete(RG, "ft-cmk", "docs").result()
    with pytest.raises(HttpResponseError, match="CustomerManagedKeyAccessDenied"):
        deploy(keyhold, "ft-cmk", "docs", job.fine_tuned_model)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="docs", messages=[{"role": "user", "content": question}])

    # Restore: everything works again without a restart.
    # The grant is answered before the revocation watcher has re-checked the account (it does
    # so at once, through the vault's change event, but in the background): until then the
    # recorded state is still KeyInaccessible and a deploy is refused, so the deploy is retried.
    grant(keyhold, "ft-kv", principal, rg=RG)
    wait_for(lambda: deploy(keyhold, "ft-cmk", "docs", job.fine_tuned_model) is not None, timeout=5,
             retrying=(HttpResponseError,))
    assert client.chat.completions.create(model="docs", messages=[{"role": "user", "content": question}]) \
        .choices[0].message.content == answer

    # Metering: training runs, trained tokens and tokens served.
    metrics_text = requests.get(f"{keyhold.endpoint}/metrics", headers=admin_headers(keyhold), timeout=10).text
    line = lambda name: next(float(l.rsplit(" ", 1)[1]) for l in metrics_text.splitlines()  # noqa: E731
                             if l.startswith(f'{name}{{account="ft-cmk"'))
    assert line("keyhold_account_training_runs") == 1
    assert line("keyhold_account_trained_tokens") == job.trained_tokens
    assert line("keyhold_account_completion_tokens_served") >= 4 * reply.usage.completion_tokens - 1
    usages = {u.name.value: u.current_value for u in cs(keyhold).accounts.list_usages(RG, "ft-cmk").value}
    assert usages["TrainingRuns"] == 1 and usages["TrainedTokens"] == job.trained_tokens
    assert usages["ChatRequests"] >= 4 and usages["StoredEncryptedBytes"] > 0, usages

    # A deployed model cannot be deleted; once undeployed it is crypto-shredded.
    with pytest.raises(openai.BadRequestError, match="delete the deployment first"):
        client.models.delete(job.fine_tuned_model)
    cs(keyhold).deployments.begin_delete(RG, "ft-cmk", "docs").result()
    before = {p.name for p in keyhold.blobs.rglob("model-*")}
    assert before
    assert client.models.delete(job.fine_tuned_model).deleted is True
    after = {p.name for p in keyhold.blobs.rglob("model-*")}
    assert len(after) == len(before) - 1
    assert job.fine_tuned_model not in [m.id for m in client.models.list()]


def test_bad_job_requests_and_cancel(keyhold):
    create_resource_group(keyhold, RG, LOCATION)
    put_account(keyhold, "ft-mmk", rg=RG)
    client = ai_client(keyhold, "ft-mmk", rg=RG)
    training = upload(client, jsonl(FACTS))
    broken = upload(client, b'{"messages": [{"role": "user", "content": "no answer"}]}\n')
    assets = upload(client, b"x", purpose="assistants", name="x.txt")
    for kwargs, match in [({"model": "gpt-9", "training_file": training.id}, "cannot be fine-tuned"),
                          ({"model": BASE, "training_file": "file-missing"}, "does not exist"),
                          ({"model": BASE, "training_file": broken.id}, "not valid training data"),
                          ({"model": BASE, "training_file": assets.id}, "purpose"),
                          ({"model": BASE, "training_file": training.id, "hyperparameters": {"n_epochs": 0}}, "n_epochs"),
                          ({"model": BASE, "training_file": training.id, "suffix": "bad suffix!"}, "suffix")]:
        with pytest.raises(openai.BadRequestError, match=match):
            client.fine_tuning.jobs.create(**kwargs)
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve("ftjob-missing")
    job = client.fine_tuning.jobs.create(model=BASE, training_file=training.id, hyperparameters={"n_epochs": 50})
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert finish(client, job.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="cannot be cancelled"):
        client.fine_tuning.jobs.cancel(job.id)


@pytest.fixture
def trainer_server(keyhold, tmp_path):
    """A second server whose jobs run the external trainer command; its upstream inference
    endpoint is the session server (which must trust nothing new: it only answers)."""
    create_resource_group(keyhold, RG, LOCATION)
    put_account(keyhold, "ft-upstream", rg=RG)
    upstream_client = ai_client(keyhold, "ft-upstream", rg=RG)
    key_file = tmp_path / "upstream.key"
    key_file.write_text(list_keys(keyhold, "ft-upstream", RG)["key1"])
    saved = {k: os.environ.get(k) for k in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
    server = start_keyhold(tmp_path / "data", "--trainer-command", "python3", str(ROOT / "interop" / "slow_trainer.py"),
                           "--inference-upstream-url", f"https://ft-upstream.openai.localhost:{keyhold.port}/openai/v1",
                           "--inference-upstream-key-file", str(key_file),
                           "--inference-upstream-ca-file", keyhold.ca)
    bundle = tmp_path / "both.pem"
    bundle.write_text(pathlib.Path(keyhold.ca).read_text() + pathlib.Path(server.ca).read_text())
    os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
    try:
        yield server, upstream_client
    finally:
        server.stop()
        for k, v in saved.items():
            os.environ[k] = v


def test_external_trainer_revocation_mid_job_sigkill_and_upstream(keyhold, trainer_server):
    server, upstream_client = trainer_server
    create_resource_group(server, RG, LOCATION)
    principal = cmk_account(server, "ft-ext", "ft-ext-kv")
    client = ai_client(server, "ft-ext", rg=RG)
    training = upload(client, jsonl(FACTS))

    # The external command trains; its artifact is served by the built-in backend.
    job = finish(client, client.fine_tuning.jobs.create(model=BASE, training_file=training.id,
                                                        hyperparameters={"n_epochs": 2}).id)
    assert job.status == "succeeded", job.error
    assert any("slow_trainer" in e.message or "python3" in e.message
               for e in client.fine_tuning.jobs.list_events(job.id, limit=100))
    deploy(server, "ft-ext", "ext", job.fine_tuned_model)
    assert client.chat.completions.create(model="ext", messages=[{"role": "user", "content": FACTS[7][0]}]) \
        .choices[0].message.content == FACTS[7][1]

    # A running job fails at its next encrypted write (its next checkpoint) once the key is revoked.
    long_job = client.fine_tuning.jobs.create(model=BASE, training_file=training.id, hyperparameters={"n_epochs": 30})
    wait_for(lambda: client.fine_tuning.jobs.retrieve(long_job.id).status == "running", timeout=10)
    revoke(server, "ft-ext-kv", principal, client, training.id)
    failed = finish(client, long_job.id, timeout=10)
    assert failed.status == "failed" and failed.error.code == "CustomerManagedKeyAccessDenied", failed
    grant(server, "ft-ext-kv", principal, rg=RG)
    wait_for(lambda: readable(client, training.id), timeout=5)

    # SIGKILL the server mid-job: after the restart the job is resumed and succeeds.
    killed_job = client.fine_tuning.jobs.create(model=BASE, training_file=training.id, hyperparameters={"n_epochs": 5})
    wait_for(lambda: client.fine_tuning.jobs.retrieve(killed_job.id).status == "running", timeout=10)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    restarted = start_keyhold(server.data_dir, "--trainer-command", "python3",
                              str(ROOT / "interop" / "slow_trainer.py"), listen=f"127.0.0.1:{server.port}")
    try:
        client = ai_client(restarted, "ft-ext", rg=RG)
        resumed = finish(client, killed_job.id, timeout=40)
        assert resumed.status == "succeeded", resumed.error
        assert any("restarts from its files" in e.message
                   for e in client.fine_tuning.jobs.list_events(killed_job.id, limit=100))
        scratch = [p for p in restarted.blobs.rglob("*") if "scratch" in str(p) and p.is_file()]
        assert not scratch, "scratch is destroyed with the job"
    finally:
        restarted.stop()
    server.process = restarted.process


def test_base_deployments_use_the_upstream_endpoint(keyhold, trainer_server):
    server, upstream_client = trainer_server
    # On the upstream (the session server) a fine-tuned model is deployed as "gpt-4o-mini".
    training = upload(upstream_client, jsonl(FACTS))
    job = finish(upstream_client, upstream_client.fine_tuning.jobs.create(model=BASE, training_file=training.id).id)
    deploy(keyhold, "ft-upstream", "gpt-4o-mini", job.fine_tuned_model)
    create_resource_group(server, RG, LOCATION)
    put_account(server, "ft-base", rg=RG)
    deploy(server, "ft-base", "chat", "gpt-4o-mini", "2024-07-18")
    client = ai_client(server, "ft-base", rg=RG)
    reply = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": FACTS[1][0]}])
    assert reply.choices[0].message.content == FACTS[1][1], "answered by the upstream's model"
    assert reply.usage.total_tokens > 0
