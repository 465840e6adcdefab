import ParkPluginKit

/// The mistakes a plate reader makes, shared by the parking kinds that read plates (the lane
/// camera and the space detector), so a misread at a lane and one at a space look alike.
///
/// The province character and the issuing-authority letter (the first two) stay: readers get
/// them from the plate's layout and colour as much as from the glyphs, and the usual mistakes
/// are in the serial. One serial character becomes a look-alike (`8`↔`B`, `0`↔`D`/`Q`, …), or
/// any other plate character when it has none. A plate of two characters or fewer has no
/// serial, so any character may go wrong.
public enum PlateMisreading {
    /// `plate` with one character replaced, so the result always differs from it (an empty
    /// plate stays empty: there is nothing to misread). Draws from the device's own random
    /// stream, so a run is repeatable from its seed.
    public static func misread(_ plate: String, _ context: PluginContext) -> String {
        var characters = Array(plate)
        guard !characters.isEmpty else { return plate }
        let first = characters.count > 2 ? 2 : 0
        let index = first + Int(context.nextRandom() % UInt64(characters.count - first))
        let original = characters[index]
        let choices = confusable[original] ?? plateCharacters.filter { $0 != original }
        characters[index] = choices[Int(context.nextRandom() % UInt64(choices.count))]
        return String(characters)
    }

    /// Characters a plate reader confuses, each with what it is taken for.
    static let confusable: [Character: [Character]] = [
        "8": ["B"], "B": ["8"], "0": ["D", "Q"], "D": ["0"], "Q": ["0"], "1": ["7", "T"], "7": ["1"],
        "T": ["1"], "2": ["Z"], "Z": ["2"], "5": ["S"], "S": ["5"], "6": ["G"], "G": ["6", "C"],
        "C": ["G"], "4": ["A"], "A": ["4"], "U": ["V"], "V": ["U"], "M": ["N"], "N": ["M", "H"],
        "H": ["N"], "E": ["F"], "F": ["E"], "P": ["R"], "R": ["P"],
    ]
    /// Plate characters (mainland plates use neither I nor O), for characters without a look-alike.
    static let plateCharacters = Array("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ")
}
