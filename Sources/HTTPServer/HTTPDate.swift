import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// IMF-fixdate text for the `Date` response header (RFC 9110 §5.6.7), cached per second.
enum HTTPDate {
    private static let cache = Mutex<(Int, String)>((-1, ""))
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func current() -> String {
        var seconds = time(nil)
        return cache.withLock { cached in
            if cached.0 == seconds { return cached.1 }
            var parts = tm()
            gmtime_r(&seconds, &parts)
            func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
            let text =
                "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) "
                + "\(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
            cached = (seconds, text)
            return text
        }
    }
}
