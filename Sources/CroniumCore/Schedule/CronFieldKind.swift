/// The six positions of a cron expression, with the values and names each accepts.
enum CronFieldKind: Sendable {
    case second, minute, hour, dayOfMonth, month, dayOfWeek

    /// The name used in error messages, as cron documentation spells it.
    var name: String {
        switch self {
        case .second: "second"
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// Values that may be written. Day-of-week accepts 7 as a second Sunday, as Vixie cron does.
    var bounds: ClosedRange<Int> {
        switch self {
        case .second, .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    /// What `*` (and an open-ended `a/n`) covers; narrower than `bounds` for day-of-week so that
    /// `*/2` does not pick Sunday twice.
    var fullRange: ClosedRange<Int> { self == .dayOfWeek ? 0...6 : bounds }

    /// `?` means "no specific value" and is only meaningful where two fields select days.
    var acceptsQuestionMark: Bool { self == .dayOfMonth || self == .dayOfWeek }

    private static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    private static let weekdayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// Parses a number or (for month and day-of-week) a three-letter English name, case-insensitively.
    func value(_ text: Substring, in fieldText: Substring) throws(ScheduleError) -> Int {
        if text.isEmpty {
            throw .cron(self, fieldText, "a value is missing (check for stray '-', ',' or '/')")
        }
        if text.allSatisfy(\.isASCIIDigitCharacter) {
            guard let number = Int(text), bounds.contains(number) else {
                throw .cron(self, fieldText, "value \(text) is out of range \(bounds.lowerBound)-\(bounds.upperBound)")
            }
            return number
        }
        let upper = text.uppercased()
        switch self {
        case .month:
            if let index = Self.monthNames.firstIndex(of: upper) { return index + 1 }
            throw .cron(self, fieldText, "'\(text)' is neither a number 1-12 nor a month name JAN-DEC")
        case .dayOfWeek:
            if let index = Self.weekdayNames.firstIndex(of: upper) { return index }
            throw .cron(self, fieldText, "'\(text)' is neither a number 0-7 nor a weekday name SUN-SAT")
        default:
            throw .cron(self, fieldText, "'\(text)' is not a number \(bounds.lowerBound)-\(bounds.upperBound)")
        }
    }
}

extension Character {
    /// `Character.isNumber` also accepts non-ASCII digits, which `Int(_:)` would then reject.
    var isASCIIDigitCharacter: Bool { isASCII && isWholeNumber }
}
