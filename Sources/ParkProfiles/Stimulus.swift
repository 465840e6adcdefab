/// Something the harness makes happen to a device: a fire, a press of the button, a tamper.
public struct Stimulus: Hashable, Sendable {
    public var name: String
    public var arguments: [String: PointValue]

    public init(_ name: String, arguments: [String: PointValue] = [:]) {
        self.name = name
        self.arguments = arguments
    }
}
