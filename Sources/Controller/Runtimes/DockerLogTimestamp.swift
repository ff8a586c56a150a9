/// The time Docker puts before each log message with `timestamps=1`: RFC 3339 with up to
/// nine fraction digits (trailing zeros dropped, as Go's RFC3339Nano writes it) and a
/// space, e.g. `2026-11-27T17:51:26.5141Z `. It is when the engine read the line from the
/// container, the time the awslogs driver gives the event.
enum DockerLogTimestamp {
    /// Splits a frame into its time (milliseconds since the epoch) and the message after it;
    /// nil when the frame does not start with a time.
    static func split(_ frame: UnsafeRawBufferPointer) -> (milliseconds: Int64, message: UnsafeRawBufferPointer)? {
        guard let space = frame.prefix(40).firstIndex(of: UInt8(ascii: " ")),
            let ms = milliseconds(frame[..<space])
        else { return nil }
        return (ms, UnsafeRawBufferPointer(rebasing: frame[(space + 1)...]))
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` as milliseconds since the epoch.
    static func milliseconds<Bytes: Collection>(_ text: Bytes) -> Int64? where Bytes.Element == UInt8 {
        let b = Array(text)
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var n: Int64 = 0
            for i in range {
                guard i < b.count, (48...57).contains(b[i]) else { return nil }
                n = n * 10 + Int64(b[i] - 48)
            }
            return n
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var millis: Int64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, (48...57).contains(b[i]) {
                if digits < 3 { millis = millis * 10 + Int64(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        guard i < b.count else { return nil }
        var offsetSeconds: Int64 = 0
        if b[i] == UInt8(ascii: "Z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 <= b.count, b[i + 3] == UInt8(ascii: ":"),
            let h = number(i + 1..<i + 3), let m = number(i + 4..<i + 6)
        {
            offsetSeconds = (h * 3600 + m * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return ((days * 86_400 + hour * 3600 + minute * 60 + second) - offsetSeconds) * 1000 + millis
    }
}
