// The built-in deny list: the most common passwords of the public breach-derived top lists
// (SecLists' 10-million-password top 100, NordPass's yearly lists, the NCSC's top of
// Have I Been Pwned), lower-cased; the deny list compares without regard to ASCII case. Short
// ones stay: password.min_length can be set below 8. Used only while no password.deny_list is
// configured; a configured list replaces it (an empty file turns refusal off).
#include "auth/common_passwords.hpp"

namespace gatehouse::auth {
namespace {

constexpr std::string_view kCommonPasswords[] = {
    "123456",        "password",   "12345678",    "qwerty",       "123456789",  "12345",
    "1234",          "111111",     "1234567",     "dragon",       "123123",     "baseball",
    "abc123",        "football",   "monkey",      "letmein",      "696969",     "shadow",
    "master",        "666666",     "qwertyuiop",  "123321",       "mustang",    "1234567890",
    "michael",       "654321",     "superman",    "1qaz2wsx",     "7777777",    "121212",
    "000000",        "qazwsx",     "123qwe",      "killer",       "trustno1",   "jordan",
    "jennifer",      "zxcvbnm",    "asdfgh",      "hunter",       "buster",     "soccer",
    "harley",        "batman",     "andrew",      "tigger",       "sunshine",   "iloveyou",
    "2000",          "charlie",    "robert",      "thomas",       "hockey",     "ranger",
    "daniel",        "starwars",   "klaster",     "112233",       "george",     "computer",
    "michelle",      "jessica",    "pepper",      "1111",         "zxcvbn",     "555555",
    "11111111",      "131313",     "freedom",     "777777",       "pass",       "maggie",
    "159753",        "aaaaaa",     "ginger",      "princess",     "joshua",     "cheese",
    "amanda",        "summer",     "love",        "ashley",       "nicole",     "chelsea",
    "biteme",        "matthew",    "access",      "yankees",      "987654321",  "dallas",
    "austin",        "thunder",    "taylor",      "matrix",       "mobilemail", "minecraft",
    "password1",     "password12", "password123", "password1234", "passw0rd",   "p@ssw0rd",
    "p@ssword",      "welcome",    "welcome1",    "welcome123",   "admin",      "admin123",
    "administrator", "root",       "toor",        "login",        "changeme",   "secret",
    "letmein1",      "qwerty123",  "qwerty1",     "qwertyui",     "1q2w3e4r",   "1q2w3e4r5t",
    "1q2w3e",        "zaq12wsx",   "asdfghjkl",   "asdf1234",     "abcd1234",   "abcdefg",
    "abcdefgh",      "abc12345",   "aa123456",    "a123456",      "a12345678",  "123abc",
    "00000000",      "88888888",   "87654321",    "12341234",     "123654789",  "147258369",
    "11223344",      "1234qwer",   "q1w2e3r4",    "q1w2e3r4t5",   "iloveyou1",  "sunshine1",
    "princess1",     "football1",  "baseball1",   "superman1",    "monkey123",  "dragon123",
    "master123",     "shadow123",  "trustno1!",   "letmein123",   "whatever",   "starwars1",
    "pokemon",       "liverpool",  "arsenal",     "samsung",      "google",     "internet",
    "hello123",      "hello",      "hellohello",  "loveme",       "lovely",     "babygirl",
    "qweasdzxc",     "test",       "test123",     "testtest",     "guest",      "default",
    "user",          "demo",       "123123123",   "112233445566", "1234512345", "999999999",
    "0987654321",
};

}  // namespace

std::span<const std::string_view> CommonPasswords() { return kCommonPasswords; }

}  // namespace gatehouse::auth
