/// Messages as GB/T 28181 cameras and platforms send them (ids, realms and user agents shaped like
/// a Hikvision IPC registering to a WVP-style platform), CRLF line ends.
enum Fixtures {
    static func crlf(_ lines: [String], body: String = "") -> [UInt8] {
        Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
    }

    static let register = crlf([
        "REGISTER sip:34020000002000000001@3402000000 SIP/2.0",
        "Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1371463273",
        "From: <sip:34020000001320000001@3402000000>;tag=2043466181",
        "To: <sip:34020000001320000001@3402000000>",
        "Call-ID: 1011047669",
        "CSeq: 2 REGISTER",
        "Contact: <sip:34020000001320000001@192.168.1.64:5060>",
        "Authorization: Digest username=\"34020000001320000001\", realm=\"3402000000\", nonce=\"44010b73623249f6916a6acf7c316b8e\", uri=\"sip:34020000002000000001@3402000000\", response=\"e4ca3fdc5869fa1c544ea7af60014444\", algorithm=MD5",
        "Max-Forwards: 70",
        "User-Agent: IP Camera",
        "Expires: 3600",
        "Content-Length: 0",
    ])

    static let unauthorized = crlf([
        "SIP/2.0 401 Unauthorized",
        "Via: SIP/2.0/UDP 192.168.1.64:5060;rport=5060;branch=z9hG4bK1371463273;received=192.168.1.64",
        "From: <sip:34020000001320000001@3402000000>;tag=2043466181",
        "To: <sip:34020000001320000001@3402000000>;tag=1530418913",
        "Call-ID: 1011047669",
        "CSeq: 1 REGISTER",
        "WWW-Authenticate: Digest realm=\"3402000000\", nonce=\"44010b73623249f6916a6acf7c316b8e\", algorithm=MD5",
        "User-Agent: WVP-Pro",
        "Content-Length: 0",
    ])

    static let keepaliveBody = """
        <?xml version="1.0" encoding="GB2312"?>\r
        <Notify>\r
        <CmdType>Keepalive</CmdType>\r
        <SN>43</SN>\r
        <DeviceID>34020000001320000001</DeviceID>\r
        <Status>OK</Status>\r
        </Notify>\r

        """

    static let keepalive = crlf([
        "MESSAGE sip:34020000002000000001@3402000000 SIP/2.0",
        "Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1898217513",
        "From: <sip:34020000001320000001@3402000000>;tag=1296348185",
        "To: <sip:34020000002000000001@3402000000>",
        "Call-ID: 1763531409",
        "CSeq: 20 MESSAGE",
        "Content-Type: Application/MANSCDP+xml",
        "Max-Forwards: 70",
        "User-Agent: IP Camera",
        "Content-Length: \(keepaliveBody.utf8.count)",
    ], body: keepaliveBody)
}
