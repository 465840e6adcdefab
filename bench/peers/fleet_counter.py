"""An independent witness for sharded runs: paho-mqtt subscribes to every broker of a run, counts
each device message by (device, seq), and at the end compares what arrived with the ledger that
ParkBench wrote. Used by `parkbench-bench fleet` and by the CLI tests of `simulate --workers`.

    python3 fleet_counter.py --broker 127.0.0.1:1883 [--broker ...] --out counts.json
        [--topic 'park/#'] [--ledger run.jsonl] [--idle 1.0]

Prints {"event": "subscribed"} once every broker has acknowledged the subscription. Runs until
SIGTERM or SIGINT, then keeps reading until no message has come for --idle seconds (messages
the brokers already hold still arrive), and writes --out: messages received, distinct devices,
duplicates, messages that were not JSON device messages, and with --ledger the (device, seq)
pairs the ledger says were emitted on an MQTT channel but never arrived ("lost") and those that
arrived but are not in the ledger ("unexpected").
"""
import argparse
import json
import signal
import sys
import threading
import time

import paho.mqtt.client as mqtt

parser = argparse.ArgumentParser()
parser.add_argument("--broker", action="append", required=True, help="host:port; repeat")
parser.add_argument("--topic", default="park/#")
parser.add_argument("--out", required=True)
parser.add_argument("--ledger")
parser.add_argument("--idle", type=float, default=1.0)
args = parser.parse_args()

lock = threading.Lock()
seen = {}          # device -> set of seq
received = 0
duplicates = 0
not_device_messages = 0
status_messages = 0
last_message = time.monotonic()
subscribed = set()
stop = threading.Event()


def on_connect(client, userdata, flags, reason_code, properties):
    client.subscribe(args.topic, qos=1)


def on_subscribe(client, userdata, mid, reason_code_list, properties):
    with lock:
        subscribed.add(userdata)
        if len(subscribed) == len(args.broker):
            print(json.dumps({"event": "subscribed"}), flush=True)


def on_message(client, userdata, msg):
    global received, duplicates, not_device_messages, status_messages, last_message
    try:
        body = json.loads(msg.payload)
        device, seq = body["device"], body.get("seq")
    except (ValueError, KeyError, TypeError):
        with lock:
            not_device_messages += 1
        return
    with lock:
        last_message = time.monotonic()
        if seq is None:
            # Online/offline status and command acks carry no emission sequence.
            status_messages += 1
            return
        received += 1
        seqs = seen.setdefault(device, set())
        if seq in seqs:
            duplicates += 1
        seqs.add(seq)


clients = []
for index, address in enumerate(args.broker):
    host, port = address.rsplit(":", 1)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fleet-counter-%d-%d" % (index, id(args)),
                         userdata=address)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    # Large in-flight window: the counter must not be what slows the brokers down.
    client.max_inflight_messages_set(1000)
    client.connect(host, int(port), keepalive=60)
    client.loop_start()
    clients.append(client)

signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
while not stop.wait(0.2):
    pass
# Drain: whatever the brokers still hold for us arrives now.
while True:
    with lock:
        quiet = time.monotonic() - last_message
    if quiet >= args.idle:
        break
    time.sleep(0.05)
for client in clients:
    client.loop_stop()
    client.disconnect()

result = {"received": received, "devices": len(seen), "duplicates": duplicates,
          "status_messages": status_messages, "not_device_messages": not_device_messages}
if args.ledger:
    expected = {}
    with open(args.ledger, encoding="utf-8") as ledger:
        for line in ledger:
            record = json.loads(line)
            if record.get("entry") == "emission" and record.get("channel") not in (None, "local"):
                expected.setdefault(record["device"], set()).add(record["seq"])
    lost = [[d, s] for d, seqs in expected.items() for s in sorted(seqs - seen.get(d, set()))]
    unexpected = [[d, s] for d, seqs in seen.items() for s in sorted(seqs - expected.get(d, set()))]
    result.update({"expected": sum(len(s) for s in expected.values()), "lost": len(lost), "lost_examples": lost[:20],
                   "unexpected": len(unexpected), "unexpected_examples": unexpected[:20]})
with open(args.out, "w", encoding="utf-8") as out:
    json.dump(result, out)
print(json.dumps({"event": "done", **{k: v for k, v in result.items() if not k.endswith("_examples")}}), flush=True)
