#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) and dictionaries (fuzz/dict/).

Seeds are the frames the tests use and the checkout's YAML files, each prefixed with the control
bytes its target reads first (see fuzz/Sources/parkbench-fuzz). Run from anywhere; rewrites the
seed directories. Seeds are named by content so reruns are stable.
"""
import hashlib, json, os, shutil, struct, sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"


def write(target, seeds):
    """Replaces the target's generated seeds (named by content); hand-written ones, named by
    what they are (sip/sdp-offer-*), stay."""
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if len(old.name) == 16 and all(c in "0123456789abcdef" for c in old.name):
            old.unlink()
    for seed in seeds:
        (folder / hashlib.sha1(seed).hexdigest()[:16]).write_bytes(seed)
    print(f"{target}: {len(seeds)} seeds")


# DL/T 645-2007 ---------------------------------------------------------------------------------
def dlt(address, control, data=b"", preamble=4):
    body = bytes([0x68]) + address + bytes([0x68, control, len(data)]) + bytes((b + 0x33) & 0xFF for b in data)
    return b"\xFE" * preamble + body + bytes([sum(body) & 0xFF, 0x16])


meter = bytes.fromhex("785634129010")  # 101290123456 (A0 first)
wild = b"\xAA" * 6
di_energy = struct.pack("<I", 0x00010000)
di_voltage = struct.pack("<I", 0x02010100)
di_power = struct.pack("<I", 0x02030000)
dlt_frames = [
    dlt(meter, 0x11, di_energy),                              # read forward active energy
    dlt(meter, 0x91, di_energy + bytes.fromhex("45230100")),  # its reply, 123.45 kWh as BCD
    dlt(meter, 0x91, di_voltage + bytes.fromhex("2002")),     # phase A voltage 220.0 V
    dlt(meter, 0x91, di_power + bytes.fromhex("563412")),     # total active power, signed
    dlt(meter, 0xD1, bytes([0x02])),                          # error reply: no such data item
    dlt(wild, 0x13),                                          # read address
    dlt(meter, 0x93, meter),                                  # its reply
    dlt(b"\x99" * 6, 0x08, bytes.fromhex("000012051226")),    # broadcast time
    dlt(meter, 0x11, di_energy, preamble=0),
]
test_body = bytes([0x68, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x68, 0x11, 0x04, 0x33, 0x33, 0x34, 0x33])
test_frame = test_body + bytes([sum(test_body) & 0xFF, 0x16])
oversize = bytes([0x68]) + meter + bytes([0x68, 0x91, 0xF0])   # a length no frame has
dlt_streams = dlt_frames + [
    test_frame,
    dlt_frames[0] + dlt_frames[1],
    b"\x00\x68\x11\x22" + dlt_frames[1],                     # noise with a 68 in it
    oversize + dlt_frames[0],                                # issue 11 defect 5
    dlt_frames[1][:-2] + b"\x00\x16" + dlt_frames[1],        # bad checksum, then good
]
write("dlt645", [bytes([c]) + s for s in dlt_streams for c in (0x00, 0x02, 0x47)])
write("dlt645-number", [bytes([i]) + v for i, v in enumerate(
    [bytes.fromhex(h) for h in ("45230100", "2002", "563412", "56341292", "0000", "99999999", "12", "0012051226ab")])])

# Modbus RTU ------------------------------------------------------------------------------------
def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


def rtu(pdu):
    return pdu + crc16(pdu)


rtu_frames = [
    rtu(bytes.fromhex("010300000002")),                 # read holding registers
    rtu(bytes.fromhex("0104000a000a")),                 # read input registers
    rtu(bytes.fromhex("01060001000a")),                 # write single register
    rtu(bytes.fromhex("0110000000020400010002")),       # write multiple registers
    rtu(bytes.fromhex("010f0000000a020301")),           # write multiple coils
    rtu(bytes.fromhex("0117000000020000000204000a000b")),  # read/write multiple registers
    rtu(bytes.fromhex("012b0e0100")),                   # device identification: length unknown
    rtu(bytes.fromhex("0203")),                         # cut short
]
rtu_streams = rtu_frames + [rtu_frames[0] + rtu_frames[1], rtu_frames[3][:-1] + b"\x00" + rtu_frames[0]]
write("modbus-rtu", [bytes([c]) + s for s in rtu_streams for c in (0x00, 0x07, 0x9F)])

# Modbus replies (TCP frames; the target also answers each as RTU) ----------------------------
def mbap(pdu, unit=1, tid=0x0001):
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


reply_pdus = [bytes.fromhex(h) for h in (
    "0100000010",                    # read coils
    "02000007d0",                    # read 2000 discrete inputs, the most one request may ask
    "030000007d",                    # read 125 holding registers, likewise
    "040000000a",                    # read input registers
    "050003ff00",                    # write single coil
    "060001000a",                    # write single register
    "0f0000000a020301",              # write multiple coils
    "100000000204000a000b",          # write multiple registers
    "16000400f20025",                # mask write register
    "17000000020000000204000a000b",  # read/write multiple registers
    "11",                            # report slave id
    "2b0e0100",                      # device identification: libmodbus says illegal function
    "0400",                          # a PDU cut short
)]
reply_streams = [mbap(pdu, tid=i) for i, pdu in enumerate(reply_pdus)] + [
    mbap(bytes.fromhex("0320000004"), unit=2),                                        # the meter's high registers
    mbap(bytes.fromhex("0300000001"), unit=3),                                        # answers as unit 0x33
    mbap(bytes.fromhex("0300000001"), unit=4),                                        # silent
    mbap(bytes.fromhex("0300000001"), unit=9),                                        # nobody: exception 0B
    mbap(bytes.fromhex("040000000a"), tid=7) + mbap(bytes.fromhex("04"), tid=8),      # issue 11 defect 1
    mbap(bytes.fromhex("0100000010")) + b"\x00\x01\x00\x01\x00\x02\x01\x03",              # then not Modbus
]
# What the target found, kept as regression seeds (see ModbusReplierTests).
reply_found = [bytes(b) for b in (
    [0x0, 0x7, 0x0, 0x0, 0x0, 0xb, 0x1, 0xfe, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0xb],  # FE answered as 7E
    [0x0, 0x1, 0x0, 0x0, 0x0, 0x6, 0x1, 0x7, 0x0, 0x4d, 0x0, 0x7d, 0x10, 0x0, 0x1, 0x0, 0x1, 0x0, 0x2, 0x1, 0x3],  # 07: no reply
    [0x0, 0xb, 0x0, 0x0, 0x0, 0x5, 0x2, 0x1, 0xe, 0x1, 0x0],                         # RTU: CRC taken for the quantity
    [0x0, 0x6, 0x0, 0x0, 0x0, 0x9, 0x1, 0x16, 0x0, 0x0, 0x0, 0x2, 0x4, 0x3, 0x1],    # mask write applied, answered 03
)]
write("modbus-reply", reply_streams + reply_found)

# MQTT ------------------------------------------------------------------------------------------
def remaining(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(first, body):
    return bytes([first]) + remaining(len(body)) + body


def s(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


connect4 = packet(0x10, s("MQTT") + bytes([4, 0xC2, 0, 60]) + s("sd-1") + s("user") + s("pass"))
connect5 = packet(0x10, s("MQTT") + bytes([5, 0x02, 0, 60, 5, 0x11, 0, 0, 0, 30]) + s("sd-1"))
payload = json.dumps({"device": "sd-1", "kind": "smoke-detector", "seq": 1, "name": "smoke-alarm",
                      "values": {"smoke_density": 0.4492}}, separators=(",", ":")).encode()
publish0 = packet(0x30, s("park/zone-a/smoke-detector/sd-1/event") + payload)
publish1 = packet(0x32, s("park/zone-a/smoke-detector/sd-1/event") + b"\x00\x07" + payload)
publish5 = packet(0x32, s("t/x") + b"\x00\x07" + bytes([3, 0x01, 0x01, 0x23]) + b"1")  # with properties
subscribe = packet(0x82, b"\x00\x01" + s("park/+/+/+/cmd") + b"\x01")
mqtt_streams = [
    connect4 + publish0, connect4 + publish1 + packet(0xC0, b"") + packet(0xE0, b""),
    connect5 + publish5, connect4 + subscribe + packet(0x40, b"\x00\x07"),
    packet(0x20, b"\x00\x00"), b"\x00\x02\xFF\xFF" + packet(0x30, s("ok") + b"1"),
    bytes([0x30, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3]),
]
write("mqtt-wire", [bytes([c, seq]) + st for st in mqtt_streams for c, seq in ((0x00, 0), (0x03, 0xFF), (0xE5, 1))])
connect31 = packet(0x10, s("MQIsdp") + bytes([3, 0x02, 0, 60]) + s("gw-7"))
write("mqtt-connect-peek", [bytes([step]) + c for c in (connect4, connect5, connect31, connect4 + publish0, connect4[:9],
                                                     packet(0x10, s("MQTT") + bytes([4, 2, 0, 60]) + s("")),
                                                     bytes([0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), packet(0x20, b"\x00\x00"))
                            for step in (0x00, 0x0F)])

# OCPP-J ----------------------------------------------------------------------------------------
ocpp_frames = [
    '[2,"19223201","BootNotification",{"chargePointVendor":"VendorX","chargePointModel":"SingleSocketCharger"}]',
    '[3,"19223201",{"status":"Accepted","currentTime":"2013-02-01T20:53:32.486Z","interval":300}]',
    '[2,"7","MeterValues",{"connectorId":1,"transactionId":1000,"meterValue":[{"timestamp":"2026-12-07T05:25:01.425Z",'
    '"sampledValue":[{"value":"1010","measurand":"Energy.Active.Import.Register","unit":"Wh"},{"value":"7.4e3","unit":"W"}]}]}]',
    '[4,"1","NotImplemented","Requested Action is not known by receiver",{}]',
    '[2,"42","Heartbeat",[]]', '[2, "x", "StatusNotification", {"connectorId": 0, "status": "Faulted", "errorCode": "GroundFailure"}]',
    '[3,"1",{"transactionId":1,"idTagInfo":{"status":"Accepted"},"s":"\\u00e9\\ud83d\\ude00\\n"}]', '[2,"1","A",{"n":-0.0,"m":1e400}]',
]
write("ocpp", [bytes([selector]) + f.encode() for f in ocpp_frames for selector in (0, 3)])

# Reference platform messages -------------------------------------------------------------------
def msg(**fields):
    return json.dumps(fields, separators=(",", ":")).encode()


alarm = msg(device="sd-1", kind="smoke-detector", seq=12, msg_id="sd-1#12", ts="2026-11-24T10:00:02.001Z",
            ts_ns=1795000000000000000, channel="event", name="smoke-alarm", values={"smoke_density": 0.4492, "threshold": 0.15})
telemetry = msg(device="sd-1", kind="smoke-detector", seq=13, channel="telemetry", values={"battery": 87, "smoke_density": 0.01})
status = msg(device="sd-1", kind="smoke-detector", status="online")
fault = msg(device="wl-1", kind="water-leak", name="fault", values={})
odd = b'{"device":"sd-1","values":{"x":1e400,"y":true,"z":"1","w":null,"v":-0.0}}'
# A plate camera's read: text values beside numbers (the whitelist rule and the records stream read them).
plate = msg(device="lpr-1", kind="lpr-camera", seq=3, name="plate", values={"plate": "京A12345", "confidence": 0.97, "image": "img/lpr-1/3.jpg"})
write("platform-message", [
    b"\x00" + alarm, b"\x01" + telemetry + b"\x00\x12" + alarm, b"\x02" + status + b"\x00\x18" + telemetry,
    b"\x04" + fault + b"\x00\xF9" + fault, b"\x01" + odd, b"\xFFpark/zone-a/smoke-detector/sd-1/event\n" + alarm,
    b"\x00[1,2]", b"\x00{}", b"\xFFpark/G1/lpr-camera/lpr-1/event\n" + plate,
])

# Plugin JSON: what a plugin library hands the host across the C ABI ---------------------------
plugin_kind = ('{"name":"fuzz-kind","summary":"fuzz","sources":["004 L2168"],"points":[{"name":"d","type":"double","summary":"d"},'
               '{"name":"i","type":"int","unit":"count","summary":"i"}],"events":[{"name":"e","severity":"alarm","summary":"e"}],'
               '"commands":[{"name":"open","summary":"o","arguments":[]}],"stimuli":[],"parameters":[{"name":"heartbeat_interval",'
               '"type":"duration","defaultValue":"1m","minimum":0.001,"summary":"h"}]}')
write("plugin-json", [t.encode() for t in (
    '{"channel":"event","name":"plate","readings":[{"point":"plate","value":"京A12B45","truth":"京A12845"},{"point":"confidence","value":0.93}]}',
    '{"channel":"telemetry","name":"telemetry","readings":[{"point":"d","value":2},{"point":"i","value":3.0,"truth":3},'
    '{"point":"b","value":true},{"point":"t","value":1500000000},{"point":"s","value":"open"}]}',
    '{"channel":"local","name":"missed","readings":[{"point":"plate","value":"","truth":"京B00001"}]}',
    '{"accepted":true,"readings":[{"point":"s","value":"open"}]}',
    '{"accepted":false,"reason":"busy"}',
    '{"channel":"event","name":"e\\u0041\\ud83d\\ude00\\n","readings":null}',
    '[-0,9223372036854775808,1.5e-300,-1E+2,0.0,[[[]]],{}]',
    plugin_kind,
)])

# VDA 5050: an order with base and horizon and actions, an update, instant actions, a state -------
vda_header = '"headerId":1,"timestamp":"2026-12-07T08:00:00.000Z","version":"2.1.0","manufacturer":"Acme","serialNumber":"R-1"'
vda_order = ('{' + vda_header + ',"orderId":"o1","orderUpdateId":0,"nodes":['
             '{"nodeId":"A","sequenceId":0,"released":true,"nodePosition":{"x":0,"y":0,"mapId":"park"},"actions":[]},'
             '{"nodeId":"B","sequenceId":2,"released":true,"actions":[{"actionType":"pick","actionId":"p1","blockingType":"HARD",'
             '"actionParameters":[{"key":"height","value":0.5},{"key":"ok","value":true},{"key":"l","value":[1,"a"]},{"key":"o","value":{"k":"v"}}]}]},'
             '{"nodeId":"C","sequenceId":4,"released":false,"actions":[]}],"edges":['
             '{"edgeId":"A-B","sequenceId":1,"released":true,"startNodeId":"A","endNodeId":"B","maxSpeed":1.2,"actions":[]},'
             '{"edgeId":"B-C","sequenceId":3,"released":false,"startNodeId":"B","endNodeId":"C","actions":[]}]}')
vda_update = vda_order.replace('"orderUpdateId":0', '"orderUpdateId":1')
vda_actions = ('{' + vda_header + ',"actions":[{"actionType":"cancelOrder","actionId":"i1","blockingType":"HARD"},'
               '{"actionType":"startCharging","actionId":"i2","blockingType":"SOFT","actionParameters":[{"key":"until","value":95}]}]}')
vda_state = ('{' + vda_header + ',"orderId":"o1","orderUpdateId":0,"lastNodeId":"A","lastNodeSequenceId":0,'
             '"nodeStates":[{"nodeId":"B","sequenceId":2,"released":true}],"edgeStates":[{"edgeId":"A-B","sequenceId":1,"released":true}],'
             '"agvPosition":{"x":1,"y":2,"theta":0,"mapId":"park","positionInitialized":true},"driving":true,'
             '"actionStates":[{"actionId":"p1","actionType":"pick","actionStatus":"WAITING"}],'
             '"batteryState":{"batteryCharge":64,"charging":false},"operatingMode":"AUTOMATIC",'
             '"errors":[{"errorType":"orderError","errorLevel":"WARNING","errorReferences":[{"referenceKey":"orderId","referenceValue":"o0"}]}],'
             '"safetyState":{"eStop":"NONE","fieldViolation":false}}')
write("vda5050", [bytes([selector]) + text.encode() for text in (vda_order, vda_update, vda_actions, vda_state)
                  for selector in (0, 1, 3)])

# YAML files ------------------------------------------------------------------------------------
def files(*patterns):
    return sorted({p.read_bytes() for pattern in patterns for p in ROOT.glob(pattern)})


write("yaml-model", files("devices/*/*.yaml", "devices/plugins/*/*.yaml", "devices/plugins/*/models/*.yaml"))
write("yaml-park", files("conformance/parks/*.yaml", "fixtures/parks/*.yaml", "fixtures/profiles/*.yaml"))
write("yaml-suite", files("conformance/suites/*.yaml"))
write("yaml-platform", files("conformance/platforms/*.yaml"))
write("yaml-linkage", files("conformance/platform/*.yaml"))

# Media: the clip's head (AUD, SPS, PPS, SEI, IDR), one P-frame, a stream without AUDs, RFC 4571 ---
clip = (ROOT / "fixtures" / "media" / "clip.h264").read_bytes()
first_p = clip.find(b"\x00\x00\x00\x01\x09", 8)
second_p = clip.find(b"\x00\x00\x00\x01\x09", first_p + 5)
no_aud = (b"\x00\x00\x00\x01\x67\x42\xC0\x14" + b"\x00\x00\x00\x01\x68\xCB" + b"\x00\x00\x01\x65\x88\x84\x21"
          + b"\x00\x00\x01\x65\x40\x11" + b"\x00\x00\x01\x41\x9A\x02")
rtp = bytes([0x80, 0xE0, 0x12, 0x34, 0, 0, 0x0E, 0x10, 0x05, 0xF5, 0xE1, 0x01]) + b"\x00\x00\x01\xBA" + bytes(10)
write("media", [bytes([0x48]) + clip[:first_p], bytes([0x10]) + clip[first_p:second_p], bytes([0x02]) + no_aud,
                bytes([0x00]) + struct.pack(">H", len(rtp)) + rtp + struct.pack(">H", 3) + b"abc"])


# GB/T 28181 SIP and MANSCDP ------------------------------------------------------------------
def sip(*lines, body=b""):
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def manscdp(root, fields, encoding="GB2312"):
    inner = "".join(f"<{k}>{v}</{k}>\r\n" if not k.startswith("<") else k for k, v in fields)
    return f'<?xml version="1.0" encoding="{encoding}"?>\r\n<{root}>\r\n{inner}</{root}>\r\n'.encode()


camera, platform = "34020000001320000001", "34020000002000000001"
keepalive_xml = manscdp("Notify", [("CmdType", "Keepalive"), ("SN", "43"), ("DeviceID", camera), ("Status", "OK")])
catalog_xml = manscdp("Response", [("CmdType", "Catalog"), ("SN", "17"), ("DeviceID", "34020000001180000001"), ("SumNum", "128"),
    ('<DeviceList Num="1">\r\n<Item>\r\n<DeviceID>34020000001310000001</DeviceID>\r\n<Name>Camera 1</Name>\r\n'
     "<Manufacturer>Hikvision</Manufacturer>\r\n<Model>DS-2CD2T47G2</Model>\r\n<Owner>Owner</Owner>\r\n<CivilCode>340200</CivilCode>\r\n"
     "<Address>Gate &amp; lobby</Address>\r\n<Parental>0</Parental>\r\n<ParentID>34020000001180000001</ParentID>\r\n"
     "<SafetyWay>0</SafetyWay>\r\n<RegisterWay>1</RegisterWay>\r\n<Secrecy>0</Secrecy>\r\n<Status>ON</Status>\r\n</Item>\r\n"
     "</DeviceList>\r\n", "")], encoding="UTF-8")
alarm_xml = manscdp("Notify", [("CmdType", "Alarm"), ("SN", "5"), ("DeviceID", camera), ("AlarmPriority", "1"), ("AlarmMethod", "5"),
    ("AlarmTime", "2026-12-06T10:00:00"), ("<Info><AlarmType>2</AlarmType></Info>\r\n", "")])
query_xml = manscdp("Query", [("CmdType", "Catalog"), ("SN", "7"), ("DeviceID", camera)])
chinese_xml = manscdp("Response", [("CmdType", "DeviceInfo"), ("SN", "2"), ("DeviceID", camera), ("DeviceName", "东门"),
    ("Channel", "1")]).replace("东门".encode(), "东门".encode("gb2312"))
head = [f"Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1371463273", f"From: <sip:{camera}@3402000000>;tag=2043466181",
        f"To: <sip:{camera}@3402000000>", "Call-ID: 1011047669"]
register = sip(f"REGISTER sip:{platform}@3402000000 SIP/2.0", *head, "CSeq: 1 REGISTER",
               f"Contact: <sip:{camera}@192.168.1.64:5060>", "Max-Forwards: 70", "Expires: 3600", "Content-Length: 0")
register_auth = sip(f"REGISTER sip:{platform}@3402000000 SIP/2.0", *head, "CSeq: 2 REGISTER",
                    'Authorization: Digest username="34020000001320000001", realm="3402000000", nonce="44010b73", '
                    f'uri="sip:{platform}@3402000000", response="e4ca3fdc5869fa1c544ea7af60014444", algorithm=MD5, '
                    'cnonce="0a4f113b", qop=auth, nc=00000001', "Expires: 3600", "Content-Length: 0")
challenge = sip("SIP/2.0 401 Unauthorized", *head[:2], head[2] + ";tag=1530418913", head[3], "CSeq: 1 REGISTER",
                'WWW-Authenticate: Digest realm="3402000000", nonce="44010b73", algorithm=MD5, qop="auth"', "Content-Length: 0")
def message(body, cseq):
    return sip(f"MESSAGE sip:{platform}@3402000000 SIP/2.0", *head, f"CSeq: {cseq} MESSAGE", "Content-Type: Application/MANSCDP+xml",
               f"Content-Length: {len(body)}", body=body)
compact = sip(f"MESSAGE sip:{platform}@3402000000 SIP/2.0", "v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa1",
              "f: <sip:a@b>;tag=t1", "t: <sip:c@d>", "i: c-1", "CSeq: 1 MESSAGE", "c: Application/MANSCDP+xml",
              f"l: {len(query_xml)}", body=query_xml)
folded = sip("SIP/2.0 200 OK", head[0], "From: <sip:a@b>", " ;tag=x", "To : <sip:a@b>;tag=y", "Call-ID:c", "CSeq: 2 REGISTER",
             "Content-Length: 0")
sip_messages = [register, register_auth, challenge, message(keepalive_xml, 20), message(catalog_xml, 21), message(alarm_xml, 22),
                message(chinese_xml, 23), compact, folded]
sip_streams = sip_messages + [b"\r\n\r\n" + register + challenge, message(keepalive_xml, 3) + message(catalog_xml, 4)]
write("sip", [bytes([c]) + s for s in sip_streams for c in (0x00, 0x07)]
      + [b"\x80" + x for x in (keepalive_xml, catalog_xml, alarm_xml, query_xml, chinese_xml)])

# Dictionaries ----------------------------------------------------------------------------------
def dictionary(name, tokens):
    def quote(token):
        return '"' + "".join(chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02X}" for b in token) + '"'
    (FUZZ / "dict" / f"{name}.dict").write_text("".join(quote(t) + "\n" for t in sorted(set(tokens))))


dictionary("dlt645", [b"\x68", b"\x16", b"\xFE\xFE\xFE\xFE", b"\xAA" * 6, b"\x99" * 6, b"\x11", b"\x91", b"\xD1", b"\x13",
                      b"\x93", b"\x33\x33\x34\x33", b"\x33\x34\x34\x35", b"\x33\x33\x36\x35"])
dictionary("media", [b"\x00\x00\x01", b"\x00\x00\x00\x01", b"\x09\xF0", b"\x67", b"\x68", b"\x65\x88", b"\x41\x9A",
                     b"\x06\x05", b"\x00\x00\x01\xBA", b"\x80\x60", b"\x80\xE0"])
dictionary("modbus-reply", [b"\x00\x00\x00\x06\x01", b"\x00\x00\x00\x06\x02", b"\x07\xD0", b"\x00\x7D", b"\x00\x7B",
                            b"\xFF\x00", b"\x20\x00", b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x0F", b"\x10",
                            b"\x11", b"\x16", b"\x17"])
dictionary("mqtt-connect-peek", [b"\x00\x04MQTT", b"\x00\x06MQIsdp", b"\x03", b"\x04", b"\x05", b"\x10", b"\xFF\xFF\xFF\x7F"])
dictionary("mqtt-wire", [b"\x00\x04MQTT", b"\x04", b"\x05", b"\x10", b"\x30", b"\x32", b"\x34", b"\x82", b"\xC0", b"\xE0",
                         b"\xFF\xFF\xFF\x7F", b"park/", b"/event"])
dictionary("ocpp", [t.encode() for t in (
    '[2,"', '[3,"', '[4,"', '",{', '"BootNotification"', '"Heartbeat"', '"StatusNotification"', '"MeterValues"',
    '"StartTransaction"', '"transactionId":', '"status":"Accepted"', '"interval":', "1e400", "-0.0", "true", "null", "{", "}",
    "[", "]", "\\u0000", "\\ud800", "\\udc00")])
dictionary("plugin-json", [t.encode() for t in (
    '"channel":', '"name":', '"readings":', '"point":', '"value":', '"truth":', '"accepted":', '"reason":', '"event"',
    '"telemetry"', '"local"', '"type":', '"double"', '"int"', '"duration"', '"points":', '"parameters":', '"defaultValue":',
    "1e400", "-0.0", "true", "false", "null", "{", "}", "[", "]", "\\u0000", "\\ud800", "\\udc00")])
dictionary("vda5050", [t.encode() for t in (
    '"orderId":', '"orderUpdateId":', '"nodes":', '"edges":', '"nodeId":', '"edgeId":', '"sequenceId":', '"released":',
    '"startNodeId":', '"endNodeId":', '"actions":', '"actionId":', '"actionType":', '"blockingType":', '"HARD"', '"SOFT"', '"NONE"',
    '"actionParameters":', '"key":', '"value":', '"batteryState":', '"errors":', '"safetyState":', "true", "false", "null", "1e400", "-0.0",
    "{", "}", "[", "]")])
dictionary("platform-message", [t.encode() for t in (
    '"device":', '"kind":', '"channel":', '"name":', '"status":', '"seq":', '"msg_id":', '"ts_ns":', '"values":',
    '"smoke-alarm"', '"fault"', '"fault-clear"', '"online"', '"event"', '"telemetry"', "1e400", "-0.0", "true", "null",
    "{", "}", "[", "]", "\\u0000", "\\ud800")])
dictionary("sip", [t.encode() for t in (
    "REGISTER ", "MESSAGE ", "INVITE ", "SIP/2.0", "SIP/2.0 200 OK", "SIP/2.0 401 Unauthorized", "\r\n", "\r\n\r\n", "\r\n\t",
    "Via: SIP/2.0/UDP ", ";branch=z9hG4bK", ";tag=", ";rport", ";expires=", "From: ", "To: ", "Call-ID: ", "CSeq: ", "Contact: ",
    "Content-Length: ", "Content-Type: Application/MANSCDP+xml", "Expires: ", "v: ", "f: ", "t: ", "i: ", "m: ", "l: ", "c: ",
    "WWW-Authenticate: Digest ", "Authorization: Digest ", 'realm="', 'nonce="', "qop=auth", "nc=00000001", 'cnonce="',
    "algorithm=MD5", "\\\"", '<?xml version="1.0" encoding="GB2312"?>', 'encoding="UTF-8"', "<Notify>", "</Notify>", "<Query>",
    "<Response>", "<CmdType>", "</CmdType>", "<SN>", "<DeviceID>", "<DeviceList Num=\"", "<Item>", "</Item>", "<![CDATA[", "]]>",
    "<!--", "-->", "&amp;", "&#x4E1C;", "&#0;", "<!DOCTYPE")] + ["东门".encode("gb2312"), "东门".encode()])
yaml_syntax = ["---", "...", ": ", "- ", "&a ", "*a", "<<: ", "!!str ", "!!int ", "!!map ", "|", ">-", "{", "}", "[", "]",
               "? ", "'", '"', "#", "%YAML 1.2", "~", "null", "true", "0x1F", ".inf", "1e400"]
keys = set()
for target in ("yaml-model", "yaml-park", "yaml-suite", "yaml-platform", "yaml-linkage"):
    for seed in (CORPUS / target).iterdir():
        for line in seed.read_text(errors="replace").splitlines():
            key = line.strip().lstrip("- ").split(":", 1)[0]
            if ":" in line and key.replace("_", "").replace("-", "").isalnum() and len(key) < 32:
                keys.add(key + ":")
dictionary("yaml", [t.encode() for t in yaml_syntax + sorted(keys)])
print(f"dictionaries: {sorted(p.name for p in (FUZZ / 'dict').iterdir())}")
