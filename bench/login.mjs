// Logs a new user into a running Mamori (first login: new password, MFA enrollment with a
// computed TOTP code) and prints the Cookie header value for tools such as wrk.
//   node bench/login.mjs URL DB LOGIN ROLE
import { Client, createUser } from '../tests/lib/mamori.mjs';

const [url, db, login, role] = process.argv.slice(2);
const c = new Client(url);
await c.firstLogin(login, createUser(db, login, role));
process.stdout.write(`${c.cookieHeader()}\n`);
