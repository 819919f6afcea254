//! Every name the client shares with the server or the page: `lvt-*` attributes, classes and
//! DOM events, the keys of wire frames and the WebSocket close codes. The close codes and
//! frame keys are checked against the Rust side by `crates/livetemplate/tests/js_constants.rs`;
//! docs/client-attributes.md and docs/protocol.md describe them.

// Elements the server renders.
/** The live region's root element. */
export const ROOT = 'data-lvt-root'
/** The server's frame limit in bytes, on the root. */
export const MAX_FRAME = 'data-lvt-max-frame'
/** A list item's key (morphing by key). */
export const DATA_KEY = 'data-key'
/** The wrapper of a component instance: its id. */
export const COMPONENT = 'lvt-component'

// Attributes a template writes.
export const CLICK = 'lvt-click'
export const SUBMIT = 'lvt-submit'
export const CHANGE = 'lvt-change'
export const PATCH = 'lvt-patch'
/** A link to another page of the app, followed on the same connection. */
export const NAVIGATE = 'lvt-navigate'
/** An element showing the flash message of its kind (`lvt-flash="info"`). */
export const FLASH = 'lvt-flash'
/** Only this key fires a key binding. */
export const KEY = 'lvt-key'
/** `lvt-value-<name>`: data sent with an event. */
export const VALUE_PREFIX = 'lvt-value-'
/** `lvt-<event>` for keydown, keyup, focus, blur. */
export const EVENT_PREFIX = 'lvt-'
/** `lvt-window-<event>` for keydown, keyup, focus, blur. */
export const WINDOW_PREFIX = 'lvt-window-'
export const DEBOUNCE = 'lvt-debounce'
export const THROTTLE = 'lvt-throttle'
export const DISABLE_WITH = 'lvt-form:disable-with'
export const PRESERVE = 'lvt-form:preserve'
export const AUTO_RECOVER = 'lvt-auto-recover'
export const UPDATE = 'lvt-update'
export const SCROLL = 'lvt-fx:scroll'
export const HOOK = 'lvt-hook'
/** The component instance an event goes to (`page`: the page itself). */
export const TARGET = 'lvt-target'
export const ERROR_MESSAGE = 'lvt-error-message'
/** Prefixes each field an `lvt-change` event says the user has not used yet (`_unused_email: ""`). */
export const UNUSED = '_unused_'
/** On `<input type="file">`: the upload (declared with `allow_upload`) its files go to. */
export const UPLOAD = 'lvt-upload'
/** On any element: files dropped on it go to this upload. */
export const DROP_TARGET = 'lvt-drop-target'

// Classes and events the client sets on the root.
export const CONNECTED = 'lvt-connected'
export const DISCONNECTED = 'lvt-disconnected'
export const ERROR = 'lvt-error'
/** `lvt-<event>-loading` on an element until its event is acknowledged. */
export const loading = (ev: string): string => `lvt-${ev}-loading`
/** `lvt:<name>`: a DOM event on the root (`lvt:error`, `lvt:dropped`, pushed events). */
export const EVENT = 'lvt:'

/** The CSS selector of elements having attribute `a` (a `:` in the name escaped). */
export const has = (a: string): string => `[${a.replace(':', '\\:')}]`

/** The keys a server frame may have (docs/protocol.md, "Server to client"). */
export const SERVER_KEYS = ['v', 's', 't', 'd', 'c', 'r', 'e', 'h', 'redirect', 'patch', 'navigate', 'title', 'flash', 'events'] as const
/** The keys a client frame may have (docs/protocol.md, "Client to server"). */
export const CLIENT_KEYS = ['a', 'd', 'r', 't', 'h', 'p', 'n'] as const
/** The protocol version this client speaks. */
export const PROTOCOL_VERSION = 2

// WebSocket close codes (RFC 6455; docs/protocol.md, "Connection-level errors").
export const CLOSE_NORMAL = 1000
export const CLOSE_GOING_AWAY = 1001
export const CLOSE_PROTOCOL = 1002
export const CLOSE_UNSUPPORTED = 1003
export const CLOSE_BAD_DATA = 1007
export const CLOSE_POLICY = 1008
export const CLOSE_TOO_BIG = 1009
export const CLOSE_ERROR = 1011
