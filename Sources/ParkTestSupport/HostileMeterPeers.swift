/// Python scripts for ``PythonPeer`` that play meters a certification must survive: one that
/// drips its answers a byte at a time, one that goes silent, one whose checksums are wrong.
/// Each prints `request N` for every request it reads, so a test can count what was sent.
public enum HostileMeterPeers {
    /// A Modbus TCP server. Arguments: port, mode, value. Modes: `drip` (every answer one byte
    /// every `value` seconds), `silent-after` (answers the first `value` requests, then reads and
    /// never answers), `slow-first` (the first answer `value` seconds late, the rest at once).
    /// Register `a` reads `a`; any function but 03 and 04 gets exception 01.
    public static let modbus = """
        import socket, sys, threading, time
        port, mode, value = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
        state = {"requests": 0}
        lock = threading.Lock()

        def read_exactly(conn, n):
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    raise EOFError
                data += chunk
            return data

        def serve(conn):
            try:
                while True:
                    header = read_exactly(conn, 7)
                    pdu = read_exactly(conn, max(0, int.from_bytes(header[4:6], "big") - 1))
                    with lock:
                        state["requests"] += 1
                        number = state["requests"]
                    print(f"request {number}", flush=True)
                    function = pdu[0] if pdu else 0
                    if function in (3, 4) and len(pdu) >= 5 and int.from_bytes(pdu[3:5], "big") <= 125:
                        start, count = int.from_bytes(pdu[1:3], "big"), int.from_bytes(pdu[3:5], "big")
                        body = bytes([function, 2 * count]) + b"".join(((start + i) & 0xFFFF).to_bytes(2, "big") for i in range(count))
                    else:
                        body = bytes([function | 0x80, 1])
                    reply = header[:4] + (len(body) + 1).to_bytes(2, "big") + header[6:7] + body
                    if mode == "drip":
                        for byte in reply:
                            conn.sendall(bytes([byte]))
                            time.sleep(value)
                    elif mode == "silent-after":
                        if number <= value:
                            conn.sendall(reply)
                    else:
                        if number == 1:
                            time.sleep(value)
                        conn.sendall(reply)
            except (EOFError, OSError):
                pass
            finally:
                conn.close()

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(16)
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        """

    /// A DL/T 645-2007 three-phase meter, number 000000000031, with consistent values
    /// (P = Σ V·I·PF). Arguments: port, corrupt, delay, drip. Every `corrupt`-th answer has its
    /// checksum off by one (0: none, 1: all); the first answer comes `delay` seconds late; with
    /// `drip` > 0 every answer goes out one byte every `drip` seconds. Frames for other meters
    /// go unanswered; an unknown data item gets error 02.
    public static let dlt645 = """
        import socket, sys, threading, time
        port, corrupt, delay, drip = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
        ADDRESS = bytes([0x31, 0, 0, 0, 0, 0])
        ITEMS = {0x00010000: (4, 2, 5000.0), 0x00020000: (4, 2, 12.5),
                 0x02010100: (2, 1, 230.0), 0x02010200: (2, 1, 230.0), 0x02010300: (2, 1, 230.0),
                 0x02020100: (3, 3, 10.0), 0x02020200: (3, 3, 10.0), 0x02020300: (3, 3, 10.0),
                 0x02030000: (3, 4, 6.21), 0x02060000: (2, 3, 0.9), 0x02800002: (2, 2, 50.0)}
        state = {"requests": 0, "answers": 0}
        lock = threading.Lock()

        def bcd(value, size, decimals):
            n, out = round(value * 10 ** decimals), []
            for _ in range(size):
                out.append((n % 10) | ((n // 10) % 10) << 4)
                n //= 100
            return bytes(out)

        def frame(control, data, broken):
            body = bytes([0x68]) + ADDRESS + bytes([0x68, control, len(data)]) + bytes((b + 0x33) & 0xFF for b in data)
            checksum = (sum(body) + (1 if broken else 0)) & 0xFF
            return b"\\xfe" * 4 + body + bytes([checksum, 0x16])

        def answer(request):
            address, control, data = request[1:7], request[8], bytes((b - 0x33) & 0xFF for b in request[10:-2])
            if control == 0x13:
                return 0x93, ADDRESS
            if address != ADDRESS or control != 0x11 or len(data) < 4:
                return None
            identifier = int.from_bytes(data[:4], "little")
            if identifier not in ITEMS:
                return 0xD1, bytes([0x02])
            size, decimals, value = ITEMS[identifier]
            return 0x91, data[:4] + bcd(value, size, decimals)

        def serve(conn):
            buffer = b""
            try:
                while True:
                    chunk = conn.recv(512)
                    if not chunk:
                        return
                    buffer += chunk
                    while True:
                        start = buffer.find(b"\\x68")
                        if start < 0:
                            buffer = b""
                            break
                        buffer = buffer[start:]
                        if len(buffer) < 10 or len(buffer) < 12 + buffer[9]:
                            break
                        request, buffer = buffer[:12 + buffer[9]], buffer[12 + buffer[9]:]
                        with lock:
                            state["requests"] += 1
                            print(f"request {state['requests']}", flush=True)
                        reply = answer(request)
                        if reply is None:
                            continue
                        with lock:
                            state["answers"] += 1
                            number = state["answers"]
                        out = frame(reply[0], reply[1], corrupt > 0 and number % corrupt == 0)
                        if number == 1:
                            time.sleep(delay)
                        if drip > 0:
                            for byte in out:
                                conn.sendall(bytes([byte]))
                                time.sleep(drip)
                        else:
                            conn.sendall(out)
            except OSError:
                pass
            finally:
                conn.close()

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(16)
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        """

    /// How many requests a peer started from one of these scripts has read so far, from its log.
    public static func requests(_ peer: PythonPeer, name: String) -> Int {
        let log = (try? String(contentsOfFile: peer.directory.path("\(name).log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { $0.hasPrefix("request ") }.count
    }
}
