/**
 * Throwaway test material (never used by the program): a self-signed test CA.
 */

/** A syntactically real, self-signed CA certificate (P-256, CN "capi-mgmt test CA"). */
export const TEST_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBjjCCATWgAwIBAgIUP7ufk+kWSuOvHKuxAK1/TqeAnQMwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRY2FwaS1tZ210IHRlc3QgQ0EwIBcNMjYxMTIyMTM0MjE1WhgP
MjEyNjEwMjkxMzQyMTVaMBwxGjAYBgNVBAMMEWNhcGktbWdtdCB0ZXN0IENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgidGivbaoP2pZ/wZalsuAgx1gpYjmGtP
yA7ScVQfSd8qhpJhVKISElXJWcoIR8MdfBrlXZrzxRqXj8G+UYxkTaNTMFEwHQYD
VR0OBBYEFITSl+WWCb/u73dQlAZFvhmqf3SjMB8GA1UdIwQYMBaAFITSl+WWCb/u
73dQlAZFvhmqf3SjMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIg
ZknderX5RSMjR/98m3QfsIYkwgJDu0eyNyg6HUTmPjMCIFqcA5UmKEl/LXmk+Jnb
d2WTgtFQ2U1RND9gfFDMo4p+
-----END CERTIFICATE-----`;
