"""The stop button, for real: interrupt a Jupyter kernel in the middle of fit()."""

from __future__ import annotations

import time

from jupyter_client.manager import start_new_kernel

CODE_FIT = """
import cnnkit, torch
cnnkit.seed_everything(0)
model = cnnkit.models.lenet5()
history = cnnkit.fit(model, cnnkit.load_mnist(), epochs=500, progress=False, verbose=True)
"""

CODE_AFTER = """
before = {k: v.clone() for k, v in model.state_dict().items()}
print("interrupted:", history.interrupted, "epochs:", len(history), "eval mode:", not model.training)
fresh = cnnkit.models.lenet5()
print("weights trained:", any((fresh.state_dict()[k] != v).any().item() for k, v in before.items()))
"""


def run(client, code, timeout=60):
    """Execute code and return (status, all stream text)."""
    msg_id = client.execute(code)
    text = []
    while True:
        msg = client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            text.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            text.append(f"ERROR {msg['content']['ename']}: {msg['content']['evalue']}")
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    return client.get_shell_msg(timeout=timeout)["content"]["status"], "".join(text)


def test_interrupting_the_kernel_ends_fit_cleanly():
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        msg_id = client.execute(CODE_FIT)
        deadline = time.monotonic() + 60
        seen = ""
        while "epoch 2/" not in seen:  # let it finish a couple of epochs, then press stop
            assert time.monotonic() < deadline, f"fit never got going: {seen!r}"
            msg = client.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                seen += msg["content"]["text"]
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=60)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "ok", "the interrupt escaped fit() as an error"
        status, text = run(client, CODE_AFTER)
        assert status == "ok", text
        assert "interrupted: True" in text and "eval mode: True" in text and "weights trained: True" in text
        epochs = int(text.split("epochs:")[1].split()[0])
        assert 2 <= epochs < 500
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
