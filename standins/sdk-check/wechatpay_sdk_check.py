#!/usr/bin/env python3
"""The SDK check: a third-party WeChat Pay APIv3 merchant SDK (``wechatpayv3`` from PyPI) talks
to Shebao's payment gateway stand-in, unmodified, and verifies its signatures.

    python wechatpay_sdk_check.py PATH/TO/pay-standin

Starts the stand-in binary on a free port with fresh demo keys (in a temporary directory), then
with the SDK: creates an app order, queries it, has the payer fail once (NOTENOUGH) through the
control API, closes the order and queries it again; receives a notification for a second, paid
order and lets the SDK verify and decrypt it. It also checks that the SDK REJECTS the stand-in's
answers when given another platform public key, and that the stand-in refuses (401 SIGN_ERROR)
an SDK signing with another merchant key. Exits non-zero on the first failure.

The SDK has no setting for the gateway's address; ``_core._gate_way`` is replaced after
construction (its only deviation from stock use).
"""

import http.server
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from wechatpayv3 import WeChatPay, WeChatPayType


def fail(message):
    print(f"sdk-check: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print(f"sdk-check: ok: {message}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_standin(binary, key_dir):
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--listen", f"127.0.0.1:{port}", "--key-dir", key_dir, "--notify-retry-ms", "200"],
        stdout=subprocess.PIPE,
        text=True,
    )
    settings = {}
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            fail(f"the stand-in exited (status {proc.poll()}) before printing its settings")
        line = line.strip()
        if line.startswith("#"):
            break
        name, _, value = line.partition("=")
        settings[name] = value
    else:
        proc.kill()
        fail("the stand-in did not print its settings within 60 s")
    return proc, settings


def control(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Receiver(http.server.BaseHTTPRequestHandler):
    received = queue.Queue()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Receiver.received.put((self.headers, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def sdk(settings, private_key, public_key, notify_url):
    client = WeChatPay(
        wechatpay_type=WeChatPayType.APP,
        mchid=settings["SHEBAO_PAY_MCHID"],
        private_key=private_key,
        cert_serial_no=settings["SHEBAO_PAY_MERCHANT_SERIAL"],
        appid=settings["SHEBAO_PAY_APPID"],
        apiv3_key=settings["SHEBAO_PAY_APIV3_KEY"],
        notify_url=notify_url,
        public_key=public_key,
        public_key_id=settings["SHEBAO_PAY_PLATFORM_SERIAL"],
        timeout=(5, 10),
    )
    client._core._gate_way = settings["SHEBAO_PAY_URL"]
    return client


def other_key_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


def main():
    if len(sys.argv) != 2:
        fail("usage: wechatpay_sdk_check.py PATH/TO/pay-standin")
    key_dir = tempfile.mkdtemp(prefix="shebao-sdk-check-")
    proc, settings = start_standin(sys.argv[1], key_dir)
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    notify_url = f"http://127.0.0.1:{receiver.server_address[1]}/notify"
    try:
        run(settings, notify_url)
    finally:
        receiver.shutdown()
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(key_dir, ignore_errors=True)
    print("sdk-check: all checks passed")


def run(settings, notify_url):
    base = settings["SHEBAO_PAY_URL"]
    with open(settings["SHEBAO_PAY_MERCHANT_KEY_FILE"]) as f:
        private_key = f.read()
    with open(settings["SHEBAO_PAY_PLATFORM_PUBLIC_KEY_FILE"]) as f:
        public_key = f.read()
    client = sdk(settings, private_key, public_key, notify_url)
    suffix = str(int(time.time() * 1000))
    order_no = "SDK" + suffix

    # Create: the SDK signs the request and verifies the signed answer (it raises if not).
    code, message = client.pay(
        description="社保缴费 SDK check",
        out_trade_no=order_no,
        amount={"total": 12345, "currency": "CNY"},
        pay_type=WeChatPayType.APP,
    )
    check(code == 200 and json.loads(message).get("prepay_id"), f"pay → 200 with a prepay_id ({message})")
    again_code, again = client.pay(
        description="社保缴费 SDK check",
        out_trade_no=order_no,
        amount={"total": 12345, "currency": "CNY"},
        pay_type=WeChatPayType.APP,
    )
    check(again_code == 200 and json.loads(again) == json.loads(message), "the same order again → the same prepay_id")

    code, message = client.query(out_trade_no=order_no)
    transaction = json.loads(message)
    check(code == 200 and transaction["trade_state"] == "NOTPAY", f"query → NOTPAY ({message})")
    check(transaction["amount"]["total"] == 12345, "the queried amount is the order's")

    control(base, "POST", f"/control/orders/{order_no}/pay", {"outcome": "NOTENOUGH", "notify": 0})
    code, message = client.query(out_trade_no=order_no)
    check(code == 200 and json.loads(message)["trade_state"] == "PAYERROR", f"after a failed payment, query → PAYERROR ({message})")

    code, message = client.close(out_trade_no=order_no)
    check(code == 204, f"close → 204 (the empty answer's signature verified) ({code})")
    code, message = client.query(out_trade_no=order_no)
    check(code == 200 and json.loads(message)["trade_state"] == "CLOSED", "query after close → CLOSED")

    code, message = client.query(out_trade_no="NOSUCH" + suffix)
    check(code == 404 and json.loads(message)["code"] == "ORDERNOTEXIST", "an unknown order → 404 ORDERNOTEXIST")

    # A notification: the SDK verifies the platform signature and decrypts the resource.
    paid_no = "SDKPAID" + suffix
    code, _ = client.pay(description="社保缴费", out_trade_no=paid_no, amount={"total": 100}, pay_type=WeChatPayType.APP)
    check(code == 200, "a second order")
    control(base, "POST", f"/control/orders/{paid_no}/pay", {"outcome": "SUCCESS", "notify": 1})
    try:
        headers, body = Receiver.received.get(timeout=15)
    except queue.Empty:
        fail("no notification arrived within 15 s")
    event = client.callback(headers, body)
    check(event is not None, "the SDK verified and decrypted the notification")
    check(event["event_type"] == "TRANSACTION.SUCCESS", "the event is TRANSACTION.SUCCESS")
    resource = event["resource"]
    check(resource["out_trade_no"] == paid_no and resource["trade_state"] == "SUCCESS", "the decrypted transaction is the paid order")
    tampered = body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCES5")
    check(client.callback(headers, tampered) is None, "the SDK refuses a tampered notification")

    # The SDK must reject the stand-in's answers under another platform key...
    other_private, other_public = other_key_pair()
    wrong_platform = sdk(settings, private_key, other_public, notify_url)
    try:
        wrong_platform.query(out_trade_no=paid_no)
    except Exception as error:  # the SDK raises a bare Exception
        check("verify the signature" in str(error), f"the SDK rejects answers signed by another platform key ({error})")
    else:
        fail("the SDK accepted an answer it should not have verified")

    # ...and the stand-in must refuse a request signed with another merchant key.
    wrong_merchant = sdk(settings, other_private, public_key, notify_url)
    code, message = wrong_merchant.query(out_trade_no=paid_no)
    check(code == 401 and json.loads(message)["code"] == "SIGN_ERROR", "the stand-in refuses another merchant key (401 SIGN_ERROR)")


if __name__ == "__main__":
    main()
