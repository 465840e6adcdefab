import Foundation

/// OCPP 1.6J peers built on the mobilityhouse `ocpp` package and `websockets` (see
/// scripts/requirements-peers.txt), independent of ParkBench's own OCPP code. Both write one JSON
/// line per WebSocket frame to `--log FILE`, flushed at once:
/// `{"t": unix time, "cp": id, "dir": "in"|"out", "type": "call"|"result"|"error", "id": message id,
/// "action": action, "payload": {…}}`, payload exactly as on the wire (camelCase); an error's
/// payload is `{"errorCode", "errorDescription", "errorDetails"}`. Other `type`s: `invalid` (a frame
/// that is not an OCPP message: `raw` holds it) and `undelivered` (a send that failed after its
/// `out` line). The CSMS adds `"schema_error"` to an `in` result that breaks the 1.6 schema.
/// Unknown actions get `NotImplemented`, known ones without a handler `NotSupported` (the library
/// alone swaps the two).
public enum OCPPPeers {
    /// A central system, for ``PythonPeer`` (ready when its port accepts). Arguments after the
    /// port: `--log FILE`, `--heartbeat N` (BootNotification interval, default 10),
    /// `--boot accepted|pending|rejected` (pending/rejected: the first boot of each charge point
    /// gets that status with interval 1, later ones Accepted), `--password ID=SECRET` (repeatable:
    /// that id must log in with HTTP Basic auth, user = id, or the handshake gets 401),
    /// `--blocked TAG` (repeatable: Authorize/StartTransaction/StopTransaction answer Blocked),
    /// `--script FILE`, `--stop-after SECONDS`. Path `/<anything>/<id>`: the last segment is the
    /// charge point id; subprotocol `ocpp1.6` is required. StartTransaction ids count from 1000.
    ///
    /// The script, a JSON list, runs once per charge point id after its first Accepted boot:
    /// `{"wait": s}`, `{"wait_for": "Action", "timeout": s}` (the next such call from the charge
    /// point since the script began, once answered), `{"call": "Action", "payload": {…},
    /// "timeout": s, "raw": bool}` (camelCase payload sent as is, `"$tx"` anywhere = the last
    /// transactionId given to that charge point; schema-checked before sending unless `raw` or
    /// not a 1.6 action such as `FooBar`), `{"disconnect": true}` (the CSMS closes the socket).
    /// Failed steps are reported on stderr and the script goes on.
    public static let csms = """
        import argparse, asyncio, base64, binascii, datetime, hmac, http, itertools, json, logging, sys, time, uuid
        import websockets
        from websockets.asyncio.server import serve
        from ocpp.routing import on
        from ocpp.v16 import ChargePoint, call_result
        from ocpp.v16.enums import Action
        from ocpp.messages import Call, MessageType, validate_payload
        from ocpp.exceptions import OCPPError

        parser = argparse.ArgumentParser()
        parser.add_argument("port", type=int)
        parser.add_argument("--log")
        parser.add_argument("--heartbeat", type=int, default=10)
        parser.add_argument("--boot", choices=["accepted", "pending", "rejected"], default="accepted")
        parser.add_argument("--password", action="append", default=[])
        parser.add_argument("--script")
        parser.add_argument("--blocked", action="append", default=[])
        parser.add_argument("--stop-after", type=float)
        args = parser.parse_args(sys.argv[1:])
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

        PASSWORDS = dict(item.split("=", 1) for item in args.password)
        SCRIPT = json.load(open(args.script)) if args.script else []
        LOG = open(args.log, "a", buffering=1) if args.log else None
        TX_COUNTER = itertools.count(1000)


        def now():
            return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


        def log_line(entry):
            text = json.dumps(entry, separators=(",", ":"), default=str)
            if LOG:
                LOG.write(text + chr(10))
                LOG.flush()
            print(text, flush=True)


        V16_ACTIONS = {a.value for a in Action}


        async def answer_unhandled(cp, raw):
            # The library answers an unknown action with NotSupported and a known one without handler
            # with NotImplemented: the reverse of OCPP-J 1.6 section 4.2.3. Answer those per the spec.
            try:
                msg = json.loads(raw)
                unhandled = msg[0] == MessageType.Call and isinstance(msg[2], str) and msg[2] not in cp.route_map
            except Exception:
                return False
            if not unhandled:
                return False
            if msg[2] in V16_ACTIONS:
                code, text = "NotSupported", "Requested Action is recognized but not supported by the receiver"
            else:
                code, text = "NotImplemented", "Requested Action is not known by receiver"
            await cp._send(json.dumps([4, msg[1], code, text, {}], separators=(",", ":")))
            return True


        class LoggedConnection:
            # Wraps a websockets connection: every frame in or out becomes one log line, from the raw
            # JSON, so payloads appear exactly as on the wire (camelCase).
            def __init__(self, ws, cp_id):
                self.ws, self.cp_id = ws, cp_id
                self.calls = {"in": {}, "out": {}}
                self.schema_errors = {}

            def note(self, direction, text):
                entry = {"t": time.time(), "cp": self.cp_id, "dir": direction}
                try:
                    msg = json.loads(text)
                    kind = msg[0]
                    if kind == MessageType.Call:
                        self.calls[direction][msg[1]] = msg[2]
                        entry.update(type="call", id=msg[1], action=msg[2], payload=msg[3])
                    else:
                        other = "out" if direction == "in" else "in"
                        action = self.calls[other].pop(msg[1], None)
                        if kind == MessageType.CallResult:
                            entry.update(type="result", id=msg[1], action=action, payload=msg[2])
                        else:
                            entry.update(type="error", id=msg[1], action=action,
                                         payload={"errorCode": msg[2], "errorDescription": msg[3], "errorDetails": msg[4]})
                except Exception:
                    entry.update(type="invalid", raw=text if isinstance(text, str) else repr(text))
                return entry

            async def recv(self):
                text = await self.ws.recv()
                entry = self.note("in", text)
                if entry.get("type") == "result" and entry.get("action") in V16_ACTIONS:
                    problem = await schema_problem(Call(entry["id"], entry["action"], {}).create_call_result(entry["payload"]))
                    if problem:
                        entry["schema_error"] = problem
                log_line(entry)
                return text

            async def send(self, text):
                entry = self.note("out", text)
                log_line(entry)
                try:
                    await self.ws.send(text)
                except Exception:
                    log_line(dict(entry, type="undelivered", t=time.time()))
                    raise


        async def schema_problem(message):
            # The CSMS checks what the charge point answers to its calls against the OCPP 1.6 schemas.
            try:
                payload = json.loads(json.dumps(message.payload))
                message.payload = payload
                await validate_payload(message, "1.6")
                return None
            except OCPPError as error:
                return f"{error.code}: {error.description} {error.details}"
            except Exception as error:
                return repr(error)


        class Station:
            # What the CSMS knows of one charge point id, across its connections.
            def __init__(self, cp_id):
                self.cp_id = cp_id
                self.boots = 0
                self.last_tx = None
                self.handler = None
                self.connected = asyncio.Event()
                self.received = {}
                self.arrived = asyncio.Condition()
                self.script_started = False


        STATIONS = {}


        def station(cp_id):
            if cp_id not in STATIONS:
                STATIONS[cp_id] = Station(cp_id)
            return STATIONS[cp_id]


        def tag_info(id_tag):
            return {"status": "Blocked" if id_tag in args.blocked else "Accepted"}


        class CentralSystemHandler(ChargePoint):
            def __init__(self, cp_id, connection, st):
                super().__init__(cp_id, connection, response_timeout=30)
                self.st = st

            async def route_message(self, raw_msg):
                # Counts each call once it has been answered, for the script's wait_for steps.
                if not await answer_unhandled(self, raw_msg):
                    await super().route_message(raw_msg)
                try:
                    msg = json.loads(raw_msg)
                    action = msg[2] if msg[0] == MessageType.Call else None
                except Exception:
                    action = None
                if action:
                    async with self.st.arrived:
                        self.st.received[action] = self.st.received.get(action, 0) + 1
                        self.st.arrived.notify_all()

            @on("BootNotification")
            def on_boot(self, **kwargs):
                self.st.boots += 1
                if args.boot != "accepted" and self.st.boots == 1:
                    return call_result.BootNotification(current_time=now(), interval=1, status=args.boot.capitalize())
                return call_result.BootNotification(current_time=now(), interval=args.heartbeat, status="Accepted")

            @on("Heartbeat")
            def on_heartbeat(self, **kwargs):
                return call_result.Heartbeat(current_time=now())

            @on("StatusNotification")
            def on_status(self, **kwargs):
                return call_result.StatusNotification()

            @on("Authorize")
            def on_authorize(self, id_tag, **kwargs):
                return call_result.Authorize(id_tag_info=tag_info(id_tag))

            @on("StartTransaction")
            def on_start(self, id_tag, **kwargs):
                tx = next(TX_COUNTER)
                self.st.last_tx = tx
                return call_result.StartTransaction(transaction_id=tx, id_tag_info=tag_info(id_tag))

            @on("StopTransaction")
            def on_stop(self, id_tag=None, **kwargs):
                return call_result.StopTransaction(id_tag_info=tag_info(id_tag) if id_tag else None)

            @on("MeterValues")
            def on_meter_values(self, **kwargs):
                return call_result.MeterValues()

            @on("DataTransfer")
            def on_data_transfer(self, **kwargs):
                return call_result.DataTransfer(status="Accepted")

            @on("DiagnosticsStatusNotification")
            def on_diagnostics_status(self, **kwargs):
                return call_result.DiagnosticsStatusNotification()

            @on("FirmwareStatusNotification")
            def on_firmware_status(self, **kwargs):
                return call_result.FirmwareStatusNotification()

            @on("SecurityEventNotification")
            def on_security_event(self, **kwargs):
                return call_result.SecurityEventNotification()

            async def raw_call(self, action, payload, validate, timeout):
                # A call built from the script's camelCase payload as it is: schema-checked when the
                # action is an OCPP 1.6 one (unless the step says "raw": true), sent unchanged otherwise.
                message = Call(str(uuid.uuid4()), action, payload)
                if validate:
                    await validate_payload(message, "1.6")
                async with self._call_lock:
                    await self._send(message.to_json())
                    return await self._get_specific_response(message.unique_id, timeout)


        def substitute(value, st):
            if value == "$tx":
                return st.last_tx
            if isinstance(value, dict):
                return {k: substitute(v, st) for k, v in value.items()}
            if isinstance(value, list):
                return [substitute(v, st) for v in value]
            return value


        async def run_script(st):
            consumed = dict(st.received)
            for step in SCRIPT:
                try:
                    if "wait" in step:
                        await asyncio.sleep(float(step["wait"]))
                    elif "wait_for" in step:
                        action = step["wait_for"]
                        async with st.arrived:
                            await asyncio.wait_for(
                                st.arrived.wait_for(lambda: st.received.get(action, 0) > consumed.get(action, 0)),
                                float(step.get("timeout", 60)))
                        consumed[action] = consumed.get(action, 0) + 1
                    elif "disconnect" in step:
                        if st.handler is not None:
                            await st.handler._connection.ws.close()
                    elif "call" in step:
                        action = step["call"]
                        timeout = float(step.get("timeout", 30))
                        await asyncio.wait_for(st.connected.wait(), timeout)
                        payload = substitute(step.get("payload", {}), st)
                        validate = action in V16_ACTIONS and not step.get("raw", False)
                        await st.handler.raw_call(action, payload, validate, timeout)
                    else:
                        print(f"script: unknown step {step}", file=sys.stderr, flush=True)
                except asyncio.TimeoutError:
                    print(f"script: {st.cp_id}: timed out in step {step}", file=sys.stderr, flush=True)
                except Exception as error:
                    print(f"script: {st.cp_id}: step {step} failed: {error!r}", file=sys.stderr, flush=True)


        def charge_point_id(path):
            segments = [s for s in path.split("?")[0].split("/") if s]
            return segments[-1] if segments else ""


        def check_request(connection, request):
            cp_id = charge_point_id(request.path)
            if not cp_id:
                return connection.respond(http.HTTPStatus.NOT_FOUND, "no charge point id in the path" + chr(10))
            if cp_id not in PASSWORDS:
                return None
            refused = connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized" + chr(10))
            refused.headers["WWW-Authenticate"] = 'Basic realm="ocpp"'
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "basic":
                return refused
            try:
                user, _, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return refused
            if user != cp_id or not hmac.compare_digest(password.encode(), PASSWORDS[cp_id].encode()):
                return refused
            return None


        async def on_connect(ws):
            cp_id = charge_point_id(ws.request.path)
            if ws.subprotocol != "ocpp1.6":
                await ws.close(1002, "ocpp1.6 required")
                return
            st = station(cp_id)
            handler = CentralSystemHandler(cp_id, LoggedConnection(ws, cp_id), st)
            st.handler = handler
            st.connected.set()
            print(f"connected {cp_id}", file=sys.stderr, flush=True)
            watcher = asyncio.create_task(start_script_when_booted(st))
            try:
                await handler.start()
            except websockets.ConnectionClosed:
                pass
            finally:
                watcher.cancel()
                if st.handler is handler:
                    st.handler = None
                    st.connected.clear()
                print(f"disconnected {cp_id}", file=sys.stderr, flush=True)


        async def start_script_when_booted(st):
            # The script starts once per charge point id, after the first Accepted BootNotification.
            if st.script_started or not SCRIPT:
                return
            threshold = 2 if args.boot != "accepted" else 1
            async with st.arrived:
                await st.arrived.wait_for(lambda: st.boots >= threshold)
            await asyncio.sleep(0.2)
            if not st.script_started:
                st.script_started = True
                asyncio.create_task(run_script(st))


        async def main():
            async with serve(on_connect, "127.0.0.1", args.port, subprotocols=["ocpp1.6"],
                             process_request=check_request, ping_interval=None) as server:
                print(f"csms listening on {args.port}", file=sys.stderr, flush=True)
                if args.stop_after:
                    await asyncio.sleep(args.stop_after)
                else:
                    await asyncio.Future()


        asyncio.run(main())
        """

    /// A charge point (vendor "PyCP", model "Reference", connector 1) for a plain ``ChildProcess``:
    /// `python3 chargepoint.py <CSMS port> [--id CP1] [--password SECRET] [--log FILE]
    /// [--mode good|drop-queue|duplicate-queue] [--run SECONDS (30)] [--local-start TAG]
    /// [--local-stop SECONDS]`; connects to `ws://127.0.0.1:<port>/ocpp/<id>`, retries every second,
    /// exits 0 after `--run` seconds. Boots (retrying after the interval while Pending/Rejected),
    /// sends StatusNotification for connectors 0 and 1, Heartbeats at the interval. Remote start:
    /// Preparing, StartTransaction (meterStart Wh), Charging, MeterValues every
    /// MeterValueSampleInterval (2 s) with Energy.Active.Import.Register rising 5 Wh/s from 1000.
    /// Remote stop (or `--local-stop` seconds after the start, reason Local): StopTransaction,
    /// Finishing, Available. `--local-start TAG`: Authorize then start, 1 s after the first boot.
    /// While offline, StartTransaction/MeterValues/StopTransaction are kept and replayed in order
    /// after reconnecting (`good`), lost (`drop-queue`) or replayed twice each (`duplicate-queue`,
    /// each copy with its own message id); after a reconnect it does not boot again but sends the
    /// queue, then StatusNotification for both connectors. Answers ChangeConfiguration
    /// (HeartbeatInterval, MeterValueSampleInterval: Accepted; read-only keys Rejected; others
    /// NotSupported), GetConfiguration, TriggerMessage, Reset (stops a transaction, reconnects and
    /// boots again), UnlockConnector, ChangeAvailability, SetChargingProfile, ClearChargingProfile,
    /// ClearCache, DataTransfer (UnknownVendorId). Three more modes each break one of those:
    /// `trigger-ignored` accepts TriggerMessage and sends nothing, `availability-unreported`
    /// changes availability without a StatusNotification, `reset-ignored` accepts Reset and never
    /// restarts.
    public static let chargepoint = """
        import argparse, asyncio, base64, datetime, json, logging, sys, time
        import websockets
        from websockets.asyncio.client import connect
        from ocpp.routing import on, after
        from ocpp.v16 import ChargePoint, call, call_result
        from ocpp.v16.enums import Action
        from ocpp.messages import MessageType

        parser = argparse.ArgumentParser()
        parser.add_argument("port", type=int)
        parser.add_argument("--id", default="CP1")
        parser.add_argument("--password")
        parser.add_argument("--log")
        parser.add_argument("--mode", choices=["good", "drop-queue", "duplicate-queue", "trigger-ignored", "availability-unreported",
                                               "reset-ignored"], default="good")
        parser.add_argument("--run", type=float, default=30)
        parser.add_argument("--local-start")
        parser.add_argument("--local-stop", type=float)
        args = parser.parse_args(sys.argv[1:])
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        LOG = open(args.log, "a", buffering=1) if args.log else None
        URL = f"ws://127.0.0.1:{args.port}/ocpp/{args.id}"


        def now():
            return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


        def log_line(entry):
            text = json.dumps(entry, separators=(",", ":"), default=str)
            if LOG:
                LOG.write(text + chr(10))
                LOG.flush()
            print(text, flush=True)


        def say(text):
            print(text, file=sys.stderr, flush=True)


        V16_ACTIONS = {a.value for a in Action}


        async def answer_unhandled(cp, raw):
            # The library answers an unknown action with NotSupported and a known one without handler
            # with NotImplemented: the reverse of OCPP-J 1.6 section 4.2.3. Answer those per the spec.
            try:
                msg = json.loads(raw)
                unhandled = msg[0] == MessageType.Call and isinstance(msg[2], str) and msg[2] not in cp.route_map
            except Exception:
                return False
            if not unhandled:
                return False
            if msg[2] in V16_ACTIONS:
                code, text = "NotSupported", "Requested Action is recognized but not supported by the receiver"
            else:
                code, text = "NotImplemented", "Requested Action is not known by receiver"
            await cp._send(json.dumps([4, msg[1], code, text, {}], separators=(",", ":")))
            return True


        class LoggedConnection:
            # Every frame in or out becomes one log line, from the raw JSON (camelCase, as on the wire).
            def __init__(self, ws):
                self.ws = ws
                self.calls = {"in": {}, "out": {}}

            def note(self, direction, text):
                entry = {"t": time.time(), "cp": args.id, "dir": direction}
                try:
                    msg = json.loads(text)
                    if msg[0] == MessageType.Call:
                        self.calls[direction][msg[1]] = msg[2]
                        entry.update(type="call", id=msg[1], action=msg[2], payload=msg[3])
                    else:
                        action = self.calls["out" if direction == "in" else "in"].pop(msg[1], None)
                        if msg[0] == MessageType.CallResult:
                            entry.update(type="result", id=msg[1], action=action, payload=msg[2])
                        else:
                            entry.update(type="error", id=msg[1], action=action,
                                         payload={"errorCode": msg[2], "errorDescription": msg[3], "errorDetails": msg[4]})
                except Exception:
                    entry.update(type="invalid", raw=text if isinstance(text, str) else repr(text))
                return entry

            async def recv(self):
                text = await self.ws.recv()
                log_line(self.note("in", text))
                return text

            async def send(self, text):
                entry = self.note("out", text)
                log_line(entry)
                try:
                    await self.ws.send(text)
                except Exception:
                    log_line(dict(entry, type="undelivered", t=time.time()))
                    raise


        class Offline(Exception):
            pass


        class Station:
            # The charge point's state, which outlives its WebSocket connections.
            def __init__(self):
                self.cp = None
                self.booted = False
                self.heartbeat = 10
                self.sample_interval = 2
                self.energy = 1000.0
                self.tx = None          # the transaction id; None while none runs (or it is not yet known)
                self.tx_tag = None
                self.tx_running = False
                self.meter_task = None
                self.available = {0: True, 1: True}
                self.queue = []         # transaction messages not yet delivered: [action, payload]
                self.queue_busy = asyncio.Lock()
                self.online = asyncio.Event()
                self.reset_requested = False
                self.local_started = False

            async def request(self, payload):
                # One call over the current connection; Offline when there is none or it drops meanwhile.
                cp = self.cp
                if cp is None:
                    raise Offline()
                task = asyncio.ensure_future(cp.call(payload, suppress=False))
                closed = asyncio.ensure_future(cp._connection.ws.wait_closed())
                try:
                    done, _ = await asyncio.wait({task, closed}, return_when=asyncio.FIRST_COMPLETED, timeout=30)
                finally:
                    closed.cancel()
                if task not in done:
                    task.cancel()
                    raise Offline()
                try:
                    return task.result()
                except (websockets.ConnectionClosed, asyncio.TimeoutError):
                    raise Offline()

            def transaction_payload(self, action, fields):
                if action == "StartTransaction":
                    return call.StartTransaction(**fields)
                fields = dict(fields)
                if fields.get("transaction_id") == "pending":
                    fields["transaction_id"] = self.tx if self.tx is not None else 0
                return getattr(call, action)(**fields)

            def tx_or_pending(self):
                return self.tx if self.tx is not None else "pending"

            async def transaction_message(self, action, fields):
                # StartTransaction, MeterValues, StopTransaction: delivered in order; while offline they
                # wait in the queue (good), are lost (drop-queue) or wait and go out twice (duplicate-queue).
                if self.cp is None:
                    if args.mode == "drop-queue":
                        say(f"offline: dropping {action}")
                        return
                    fields["_queued"] = True
                self.queue.append([action, fields])
                await self.flush()

            async def flush(self):
                async with self.queue_busy:
                    while self.queue and self.cp is not None:
                        action, fields = self.queue[0]
                        copies = 2 if args.mode == "duplicate-queue" and fields.get("_queued") else 1
                        payload = {k: v for k, v in fields.items() if k != "_queued"}
                        try:
                            for _ in range(copies):
                                result = await self.request(self.transaction_payload(action, payload))
                        except Offline:
                            if args.mode == "drop-queue":
                                for lost, _ in self.queue:
                                    say(f"offline: dropping {lost}")
                                self.queue.clear()
                            else:
                                for entry in self.queue:
                                    entry[1]["_queued"] = True
                            return
                        except Exception as error:
                            say(f"{action} refused: {error!r}")
                            result = None
                        self.queue.pop(0)
                        if action == "StartTransaction" and result is not None:
                            self.tx = result.transaction_id
                            for entry in self.queue:
                                if entry[1].get("transaction_id") == "pending":
                                    entry[1]["transaction_id"] = self.tx
                            if (result.id_tag_info or {}).get("status") != "Accepted":
                                asyncio.ensure_future(self.stop_transaction("DeAuthorized"))

            async def status(self, connector, status):
                try:
                    await self.request(call.StatusNotification(connector_id=connector, error_code="NoError", status=status, timestamp=now()))
                except Exception:
                    pass

            def meter_value(self, context):
                return [{"timestamp": now(), "sampled_value": [{
                    "value": str(int(self.energy)), "context": context, "format": "Raw",
                    "measurand": "Energy.Active.Import.Register", "location": "Outlet", "unit": "Wh"}]}]

            async def start_transaction(self, connector, id_tag):
                self.tx_running, self.tx, self.tx_tag = True, None, id_tag
                self.meter_task = None
                await self.status(connector, "Preparing")
                await self.transaction_message("StartTransaction", {
                    "connector_id": connector, "id_tag": id_tag, "meter_start": int(self.energy), "timestamp": now()})
                if self.tx_running:
                    await self.status(connector, "Charging")
                    self.meter_task = asyncio.ensure_future(self.meter_loop(connector))
                    if args.local_stop is not None:
                        asyncio.ensure_future(self.local_stop(args.local_stop))

            async def local_stop(self, delay):
                await asyncio.sleep(delay)
                await self.stop_transaction("Local")

            async def local_start(self, id_tag):
                # As if the driver presented id_tag at the charge point: Authorize, then StartTransaction.
                await asyncio.sleep(1)
                if self.tx_running:
                    return
                try:
                    result = await self.request(call.Authorize(id_tag=id_tag))
                except Exception as error:
                    say(f"Authorize failed: {error!r}")
                    return
                if (result.id_tag_info or {}).get("status") == "Accepted" and not self.tx_running:
                    self.tx_running = True
                    await self.start_transaction(1, id_tag)

            async def meter_loop(self, connector):
                last = time.monotonic()
                while self.tx_running:
                    await asyncio.sleep(self.sample_interval)
                    if not self.tx_running:
                        break
                    current = time.monotonic()
                    self.energy += 5.0 * (current - last)   # 18 kW
                    last = current
                    await self.transaction_message("MeterValues", {
                        "connector_id": connector, "transaction_id": self.tx_or_pending(), "meter_value": self.meter_value("Sample.Periodic")})

            async def stop_transaction(self, reason):
                if not self.tx_running:
                    return
                self.tx_running = False
                if self.meter_task is not None:
                    self.meter_task.cancel()
                await self.transaction_message("StopTransaction", {
                    "meter_stop": int(self.energy), "timestamp": now(), "transaction_id": self.tx_or_pending(),
                    "reason": reason, "id_tag": self.tx_tag})
                await self.status(1, "Finishing")
                await self.status(1, "Available" if self.available[1] else "Unavailable")

            async def heartbeat_loop(self):
                while True:
                    await asyncio.sleep(self.heartbeat)
                    try:
                        await self.request(call.Heartbeat())
                    except Offline:
                        return
                    except Exception as error:
                        say(f"Heartbeat refused: {error!r}")

            async def trigger(self, message, connector):
                try:
                    if message == "BootNotification":
                        await self.request(call.BootNotification(charge_point_vendor="PyCP", charge_point_model="Reference"))
                    elif message == "Heartbeat":
                        await self.request(call.Heartbeat())
                    elif message == "StatusNotification":
                        for c in ([connector] if connector is not None else [0, 1]):
                            await self.status(c, self.connector_status(c))
                    elif message == "MeterValues":
                        await self.request(call.MeterValues(connector_id=connector or 1, meter_value=self.meter_value("Trigger"),
                                                            transaction_id=self.tx if self.tx_running else None))
                    elif message == "DiagnosticsStatusNotification":
                        await self.request(call.DiagnosticsStatusNotification(status="Idle"))
                    elif message == "FirmwareStatusNotification":
                        await self.request(call.FirmwareStatusNotification(status="Idle"))
                except Exception:
                    pass

            def connector_status(self, connector):
                if not self.available[connector]:
                    return "Unavailable"
                if connector == 1 and self.tx_running:
                    return "Charging"
                return "Available"


        STATION = Station()
        CONFIG_READONLY = {"NumberOfConnectors": "1", "AuthorizeRemoteTxRequests": "false",
                           "MeterValuesSampledData": "Energy.Active.Import.Register", "SupportedFeatureProfiles":
                           "Core,RemoteTrigger,SmartCharging"}


        def configuration():
            entries = [{"key": "HeartbeatInterval", "readonly": False, "value": str(STATION.heartbeat)},
                       {"key": "MeterValueSampleInterval", "readonly": False, "value": str(STATION.sample_interval)}]
            entries += [{"key": k, "readonly": True, "value": v} for k, v in CONFIG_READONLY.items()]
            return entries


        class ChargePointHandler(ChargePoint):
            async def route_message(self, raw_msg):
                if not await answer_unhandled(self, raw_msg):
                    await super().route_message(raw_msg)

            # Follow-up work (StartTransaction after RemoteStartTransaction.conf, …) is handed from an
            # @on handler to the matching @after hook, which runs once the answer has been sent.
            def later(self, action, work):
                self.__dict__.setdefault("_later", {})[action] = work

            def run_later(self, action):
                work = self.__dict__.get("_later", {}).pop(action, None)
                if work is not None:
                    asyncio.ensure_future(work())

            @on("RemoteStartTransaction")
            def on_remote_start(self, id_tag, connector_id=None, **kwargs):
                connector = connector_id or 1
                if connector != 1 or STATION.tx_running or not STATION.available[1] or not STATION.available[0]:
                    return call_result.RemoteStartTransaction(status="Rejected")
                STATION.tx_running = True
                self.later("RemoteStartTransaction", lambda: STATION.start_transaction(connector, id_tag))
                return call_result.RemoteStartTransaction(status="Accepted")

            @after("RemoteStartTransaction")
            def after_remote_start(self, **kwargs):
                self.run_later("RemoteStartTransaction")

            @on("RemoteStopTransaction")
            def on_remote_stop(self, transaction_id, **kwargs):
                if STATION.tx_running and STATION.tx == transaction_id:
                    self.later("RemoteStopTransaction", lambda: STATION.stop_transaction("Remote"))
                    return call_result.RemoteStopTransaction(status="Accepted")
                return call_result.RemoteStopTransaction(status="Rejected")

            @after("RemoteStopTransaction")
            def after_remote_stop(self, **kwargs):
                self.run_later("RemoteStopTransaction")

            @on("ChangeConfiguration")
            def on_change_configuration(self, key, value, **kwargs):
                if key in ("HeartbeatInterval", "MeterValueSampleInterval"):
                    try:
                        number = int(value)
                    except ValueError:
                        return call_result.ChangeConfiguration(status="Rejected")
                    if number <= 0:
                        return call_result.ChangeConfiguration(status="Rejected")
                    if key == "HeartbeatInterval":
                        STATION.heartbeat = number
                    else:
                        STATION.sample_interval = number
                    return call_result.ChangeConfiguration(status="Accepted")
                if key in CONFIG_READONLY:
                    return call_result.ChangeConfiguration(status="Rejected")
                return call_result.ChangeConfiguration(status="NotSupported")

            @on("GetConfiguration")
            def on_get_configuration(self, key=None, **kwargs):
                entries = configuration()
                if not key:
                    return call_result.GetConfiguration(configuration_key=entries)
                known = {e["key"]: e for e in entries}
                return call_result.GetConfiguration(configuration_key=[known[k] for k in key if k in known],
                                                    unknown_key=[k for k in key if k not in known] or None)

            @on("TriggerMessage")
            def on_trigger(self, requested_message, connector_id=None, **kwargs):
                if connector_id is not None and connector_id not in (0, 1):
                    return call_result.TriggerMessage(status="Rejected")
                if args.mode != "trigger-ignored":
                    self.later("TriggerMessage", lambda: STATION.trigger(requested_message, connector_id))
                return call_result.TriggerMessage(status="Accepted")

            @after("TriggerMessage")
            def after_trigger(self, **kwargs):
                self.run_later("TriggerMessage")

            @on("Reset")
            def on_reset(self, type, **kwargs):
                if args.mode != "reset-ignored":
                    self.later("Reset", lambda: reset(type))
                return call_result.Reset(status="Accepted")

            @after("Reset")
            def after_reset(self, **kwargs):
                self.run_later("Reset")

            @on("UnlockConnector")
            def on_unlock(self, connector_id, **kwargs):
                if connector_id != 1:
                    return call_result.UnlockConnector(status="NotSupported")
                if STATION.tx_running:
                    self.later("UnlockConnector", lambda: STATION.stop_transaction("UnlockCommand"))
                return call_result.UnlockConnector(status="Unlocked")

            @after("UnlockConnector")
            def after_unlock(self, **kwargs):
                self.run_later("UnlockConnector")

            @on("ChangeAvailability")
            def on_change_availability(self, connector_id, type, **kwargs):
                if connector_id not in (0, 1):
                    return call_result.ChangeAvailability(status="Rejected")
                wanted = type == "Operative"
                if not wanted and STATION.tx_running:
                    return call_result.ChangeAvailability(status="Scheduled")
                targets = [0, 1] if connector_id == 0 else [1]
                for c in targets:
                    STATION.available[c] = wanted
                if args.mode != "availability-unreported":
                    self.later("ChangeAvailability", lambda: STATION.trigger("StatusNotification", None))
                return call_result.ChangeAvailability(status="Accepted")

            @after("ChangeAvailability")
            def after_change_availability(self, **kwargs):
                self.run_later("ChangeAvailability")

            @on("SetChargingProfile")
            def on_set_charging_profile(self, **kwargs):
                return call_result.SetChargingProfile(status="Accepted")

            @on("ClearChargingProfile")
            def on_clear_charging_profile(self, **kwargs):
                return call_result.ClearChargingProfile(status="Accepted")

            @on("ClearCache")
            def on_clear_cache(self, **kwargs):
                return call_result.ClearCache(status="Accepted")

            @on("DataTransfer")
            def on_data_transfer(self, **kwargs):
                return call_result.DataTransfer(status="UnknownVendorId")


        async def reset(kind):
            await STATION.stop_transaction("HardReset" if kind == "Hard" else "SoftReset")
            await asyncio.sleep(1)
            STATION.reset_requested = True
            cp = STATION.cp
            if cp is not None:
                await cp._connection.ws.close()


        async def session(ws):
            cp = ChargePointHandler(args.id, LoggedConnection(ws), response_timeout=30)
            reader = asyncio.ensure_future(cp.start())
            STATION.cp = cp
            heartbeat = None
            try:
                reconnected = STATION.booted
                while not STATION.booted:
                    result = await STATION.request(call.BootNotification(charge_point_vendor="PyCP", charge_point_model="Reference"))
                    if result.status == "Accepted":
                        STATION.booted = True
                        STATION.heartbeat = result.interval if result.interval > 0 else STATION.heartbeat
                        for connector in (0, 1):
                            await STATION.status(connector, STATION.connector_status(connector))
                        if args.local_start and not STATION.local_started:
                            STATION.local_started = True
                            asyncio.ensure_future(STATION.local_start(args.local_start))
                    else:
                        await asyncio.sleep(result.interval if result.interval > 0 else 1)
                    reconnected = False
                if reconnected:
                    await STATION.flush()
                    for connector in (0, 1):
                        await STATION.status(connector, STATION.connector_status(connector))
                else:
                    await STATION.flush()
                heartbeat = asyncio.ensure_future(STATION.heartbeat_loop())
                await reader
            except (Offline, websockets.ConnectionClosed):
                pass
            finally:
                STATION.cp = None
                reader.cancel()
                if heartbeat is not None:
                    heartbeat.cancel()


        async def connection_loop():
            headers = {}
            if args.password is not None:
                token = base64.b64encode(f"{args.id}:{args.password}".encode()).decode()
                headers["Authorization"] = "Basic " + token
            while True:
                try:
                    async with connect(URL, subprotocols=["ocpp1.6"], additional_headers=headers,
                                       open_timeout=5, ping_interval=None) as ws:
                        say(f"connected to {URL}")
                        await session(ws)
                except (OSError, asyncio.TimeoutError, websockets.WebSocketException, Offline) as error:
                    say(f"connection failed or lost: {error!r}")
                if STATION.reset_requested:
                    STATION.reset_requested = False
                    STATION.booted = False
                if args.mode == "drop-queue":
                    async with STATION.queue_busy:
                        for action, _ in STATION.queue:
                            say(f"offline: dropping {action}")
                        STATION.queue.clear()
                await asyncio.sleep(1)


        async def main():
            task = asyncio.ensure_future(connection_loop())
            await asyncio.sleep(args.run)
            task.cancel()
            cp = STATION.cp
            if cp is not None:
                try:
                    await cp._connection.ws.close()
                except Exception:
                    pass


        asyncio.run(main())
        sys.exit(0)
        """
}

/// One line of an OCPP peer's `--log` (see ``OCPPPeers``), as a test reads it.
public struct OCPPPeerLogLine: @unchecked Sendable {
    public var time: Double
    /// The charge point the frame was to or from.
    public var chargePoint: String
    /// `in` (the peer received it) or `out` (the peer sent it).
    public var direction: String
    /// `call`, `result`, `error`, `invalid` or `undelivered`.
    public var type: String
    public var action: String
    /// The payload as on the wire (camelCase).
    public var payload: [String: Any]
    /// Set by the CSMS when a result it received breaks the 1.6 schema.
    public var schemaError: String?

    /// The log's lines, oldest first; lines that are not JSON objects are skipped.
    public static func read(_ path: String) -> [OCPPPeerLogLine] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return OCPPPeerLogLine(
                time: object["t"] as? Double ?? 0, chargePoint: object["cp"] as? String ?? "", direction: object["dir"] as? String ?? "",
                type: object["type"] as? String ?? "", action: object["action"] as? String ?? "", payload: object["payload"] as? [String: Any] ?? [:],
                schemaError: object["schema_error"] as? String)
        }
    }
}
