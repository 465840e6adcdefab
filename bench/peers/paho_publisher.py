"""paho-mqtt side of `parkbench-bench mqtt`: N clients in one process publish QoS 0 as fast as they can.

One thread drives every client (publish, then loop(timeout=0) to flush), which is the cheapest way
paho offers; loop_start() would be a thread per client. Prints one JSON object with what it sent
and the CPU it used.
"""
import json
import resource
import sys
import time

import paho.mqtt.client as mqtt

port, clients_wanted, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
payload = b"x" * 100

clients = []
for index in range(clients_wanted):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-bench-%d" % index)
    client.connect("127.0.0.1", port, keepalive=60)
    clients.append(client)
for client in clients:
    client.loop(timeout=0.01)

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

sent = 0
cpu_start, start = cpu(), time.monotonic()
topics = ["bench/paho/%d" % index for index in range(len(clients))]
while time.monotonic() - start < seconds:
    for index, client in enumerate(clients):
        if client.publish(topics[index], payload, qos=0).rc == mqtt.MQTT_ERR_SUCCESS:
            sent += 1
        client.loop(timeout=0)
elapsed, used = time.monotonic() - start, cpu() - cpu_start
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for client in clients:
    client.disconnect()
print(json.dumps({"clients": len(clients), "messages": sent, "seconds": elapsed, "cpu_seconds": used, "max_rss_kib": rss_kib}))
