/// The device kinds a model profile or park file is checked against, by name: all the readers
/// need to know of the kinds, without the engine or the plugins that make them.
///
/// ParkCore's `DeviceKindRegistry` (the built-in kinds and those loaded from plugins) is one.
public protocol KindCatalog: Sendable {
    /// The descriptor of the kind called `name`, or nil when there is no such kind.
    func descriptor(named name: String) -> KindDescriptor?
    /// The kinds' names, in the order messages list them.
    var names: [String] { get }
}
