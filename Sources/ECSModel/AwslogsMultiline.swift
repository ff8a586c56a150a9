import Foundation

/// The awslogs driver's multi-line options, as Docker's driver reads them: a line that
/// matches the start pattern begins a new log event; a line that does not is appended to the
/// event before it. `awslogs-datetime-format` (a strftime format) wins over
/// `awslogs-multiline-pattern` (a regular expression).
public enum AwslogsMultiline {
    /// Docker's translation of strftime directives into regular expressions.
    static let strftimeToRegex: [(String, String)] = [
        ("%a", "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"),
        ("%A", "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"),
        ("%w", "[0-6]"),
        ("%d", "(?:0[1-9]|[1,2][0-9]|3[0,1])"),
        ("%b", "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"),
        ("%B", "(?:January|February|March|April|May|June|July|August|September|October|November|December)"),
        ("%m", "(?:0[1-9]|1[0-2])"),
        ("%Y", "\\d{4}"),
        ("%y", "\\d{2}"),
        ("%H", "(?:[0,1][0-9]|2[0-3])"),
        ("%I", "(?:0[0-9]|1[0-2])"),
        ("%p", "[A,P]M"),
        ("%M", "[0-5][0-9]"),
        ("%S", "[0-5][0-9]"),
        ("%f", "\\d{6}"),
        ("%z", "[+-]\\d{4}"),
        ("%Z", "[A-Z]{1,4}T"),
        ("%j", "(?:0[0-9][1-9]|[1,2][0-9][0-9]|3[0-5][0-9]|36[0-6])"),
        ("%L", "\\.\\d{3}"),
    ]

    /// The regular expression a line must match to start an event, or nil when the options
    /// ask for one event per line. Like Docker's: a datetime format is anchored at the
    /// start of the line (its other characters are taken as they are); a multi-line
    /// pattern may match anywhere in it.
    public static func startPattern(options: [String: String]) -> String? {
        if var format = options["awslogs-datetime-format"], !format.isEmpty {
            for (directive, regex) in strftimeToRegex { format = format.replacingOccurrences(of: directive, with: regex) }
            return "^" + format
        }
        if let pattern = options["awslogs-multiline-pattern"], !pattern.isEmpty { return pattern }
        return nil
    }

    /// Why `pattern` is not a usable regular expression, or nil when it is.
    public static func problem(in pattern: String) -> String? {
        do {
            _ = try NSRegularExpression(pattern: pattern)
            return nil
        } catch {
            return "\"\(pattern)\" is not a valid regular expression"
        }
    }
}
