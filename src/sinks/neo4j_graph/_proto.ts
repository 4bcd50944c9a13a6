/**
 * neo4j-driver's errors extend Error the ES5 way (compiled TypeScript): the constructor calls
 * `Error(...)`, which returns a plain Error, and then fixes its prototype with
 * `_this.__proto__ = Neo4jError.prototype`. Deno disables `Object.prototype.__proto__`, so there
 * the assignment does nothing: a Neo4jError is no `instanceof Neo4jError` (the driver's
 * `Neo4jError.isRetryable` says false for every error), and Deno records the access and
 * appends "info: This program assigned to Object.prototype.__proto__ … hint: run again with
 * --unsafe-proto" to every uncaught error and failed test the process reports afterwards, a false
 * lead.
 *
 * `allowErrorPrototypeFix()` gives Error objects, and only them, the standard `__proto__`
 * accessor, so the driver's assignment does what it means and never reaches the disabled one.
 * Plain objects keep Deno's protection (what it guards against: JSON with a `"__proto__"` key);
 * `--unsafe-proto` would lift it for every object.
 * @module
 */
let installed = false;

export function allowErrorPrototypeFix(): void {
  if (installed || Object.hasOwn(Error.prototype, "__proto__")) return;
  installed = true;
  Object.defineProperty(Error.prototype, "__proto__", {
    configurable: true,
    enumerable: false,
    get(this: Error) {
      return Object.getPrototypeOf(this);
    },
    set(this: Error, proto: unknown) {
      if (typeof proto === "object" || proto === null) Object.setPrototypeOf(this, proto);
    },
  });
}
