/// Where a request carries its credential: `Authorization: Bearer …`, else the `parley_session` cookie the web
/// client's sign-in sets. A credential in the URL (`?token=…`) is refused, never used: URLs end up in logs, browser
/// history and `Referer` headers.
enum PresentedCredentials {
    /// What a request presented.
    enum Presented: Equatable {
        case none
        case token(String)
        /// A credential-like parameter in the URL's query.
        case inURL
    }

    /// The cookie that carries a session token.
    static let cookieName = "parley_session"

    /// Reads a request's credential from its `Authorization` and `Cookie` header values and its URL.
    static func presented(authorization: [String], cookies: [String], uri: String) -> Presented {
        if let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first,
            query.split(separator: "&").contains(where: { isCredentialParameter($0.split(separator: "=", maxSplits: 1).first ?? "") })
        {
            return .inURL
        }
        for value in authorization {
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let token = parts[1].trimmingSpaces()
                if !token.isEmpty { return .token(token) }
            }
        }
        for header in cookies {
            for pair in header.split(separator: ";") {
                let nameAndValue = pair.split(separator: "=", maxSplits: 1)
                if nameAndValue.count == 2, nameAndValue[0].trimmingSpaces() == cookieName {
                    let token = nameAndValue[1].trimmingSpaces()
                    if !token.isEmpty { return .token(token) }
                }
            }
        }
        return .none
    }

    private static func isCredentialParameter(_ name: Substring) -> Bool {
        ["token", "access_token", "session", "jwt", cookieName].contains(name.lowercased())
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
