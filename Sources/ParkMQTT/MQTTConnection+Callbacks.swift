import CMosquitto

#if canImport(Glibc)
import Glibc
#endif

/// libmosquitto's callbacks are C function pointers, so they cannot capture anything. Each client's
/// ``MQTTConnection`` travels as libmosquitto's `obj` user-data pointer instead (unretained: the loop
/// owns the connection and destroys the libmosquitto handle before letting it go), and the
/// trampolines below turn it back into the object. No global state is involved.
///
/// The MQTT 5 variants are registered because they also fire for 3.1.1 clients and carry more
/// (CONNACK flags, PUBACK reason codes).
extension MQTTConnection {
    static func from(_ context: UnsafeMutableRawPointer?) -> MQTTConnection {
        Unmanaged<MQTTConnection>.fromOpaque(context!).takeUnretainedValue()
    }

    /// Installs or removes the log callback (see ``forwardsLibraryLog``).
    func setLibraryLog(enabled: Bool) {
        guard enabled || forwardsLibraryLog else {
            mosquitto_log_callback_set(mosq, nil)
            return
        }
        mosquitto_log_callback_set(mosq) { _, context, level, text in
            guard let text else { return }
            let connection = MQTTConnection.from(context)
            if level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING) != 0 {
                connection.libraryDiagnostic = String(cString: text)
            }
            if connection.forwardsLibraryLog {
                connection.loop.logger.trace(
                    "libmosquitto: \(String(cString: text))",
                    metadata: ["mqtt.client": "\(connection.configuration.clientID)"])
            }
        }
    }

    func installCallbacks() {
        mosquitto_connect_v5_callback_set(mosq) { _, context, code, flags, _ in
            let connection = MQTTConnection.from(context)
            connection.callbackCount &+= 1
            connection.didReceiveConnack(code: code, flags: flags)
        }
        mosquitto_disconnect_v5_callback_set(mosq) { _, context, code, _ in
            let savedErrno = errno
            let connection = MQTTConnection.from(context)
            connection.callbackCount &+= 1
            connection.didDisconnect(code: code, errno: savedErrno)
        }
        mosquitto_publish_v5_callback_set(mosq) { _, context, messageID, reasonCode, _ in
            let connection = MQTTConnection.from(context)
            connection.callbackCount &+= 1
            connection.didPublish(messageID: messageID, reasonCode: reasonCode)
        }
        mosquitto_message_v5_callback_set(mosq) { _, context, message, _ in
            let connection = MQTTConnection.from(context)
            connection.callbackCount &+= 1
            if let message { connection.didReceive(message) }
        }
        mosquitto_subscribe_v5_callback_set(mosq) { _, context, messageID, count, granted, _ in
            let connection = MQTTConnection.from(context)
            connection.callbackCount &+= 1
            connection.didSubscribe(
                messageID: messageID, granted: UnsafeBufferPointer(start: granted, count: Int(max(count, 0))))
        }
    }
}
