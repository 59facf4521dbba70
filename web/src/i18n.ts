// The client's words in Portuguese (the tutorial's language) and English, chosen from the browser's languages.

import type { ErrorCode } from "./protocol";

export type Language = "pt-BR" | "en";

export interface Strings {
  title: string;
  namePrompt: string;
  nameLabel: string;
  nameInvalid: string;
  start: string;
  roomsHeading: string;
  joinRoomLabel: string;
  joinRoom: string;
  roomInvalid: string;
  leaveRoom: (room: string) => string;
  unread: (count: number) => string;
  membersHeading: string;
  messageLabel: string;
  messagePlaceholder: string;
  send: string;
  loadOlder: string;
  beginning: string;
  sending: string;
  delivered: string;
  retry: string;
  discard: string;
  you: string;
  typing: (names: string[]) => string;
  status: { connecting: string; online: string; reconnecting: (seconds: number) => string };
  /** Said beside the status when WebSockets do not get through and the page chats over plain HTTP. */
  compatibilityMode: string;
  compatibilityModeExplained: string;
  errors: Record<ErrorCode, string>;
  signedInAs: (name: string) => string;
  changeName: string;
  guest: string;
  authModes: { guest: string; signIn: string; register: string };
  userLabel: string;
  displayNameLabel: string;
  passwordLabel: string;
  signIn: string;
  createAccount: string;
  signOut: string;
  sessionExpired: string;
  signInRequired: string;
  tooManyAttempts: (seconds: number) => string;
  /** Messages for the account API's error codes. */
  authErrors: Record<string, string>;
  createRoomLabel: string;
  createRoom: string;
  visibilityLabel: string;
  visibility: { public: string; private: string };
  privateRoom: string;
  otherRooms: string;
  memberCount: (count: number) => string;
  inviteLabel: string;
  invite: string;
  memberMenu: (name: string) => string;
  directMessage: string;
  kick: string;
  ban: string;
  makeModerator: string;
  makeMember: string;
  deleteMessage: string;
  confirmDelete: string;
  cancel: string;
  messageDeleted: string;
  dismiss: string;
  removed: (room: string, reason: "kicked" | "banned") => string;
  invited: (room: string, by: string) => string;
  directMessageOpened: (by: string) => string;
  refused: (room: string) => string;
  bannedFromServer: string;
  people: (count: number) => string;
  showPeople: string;
  hidePeople: string;
  searchPeople: string;
  morePeople: string;
}

const portuguese: Strings = {
  title: "Chat em Tempo Real",
  namePrompt: "Como você quer ser chamado?",
  nameLabel: "Seu nome",
  nameInvalid: "Use de 1 a 32 caracteres visíveis.",
  start: "Entrar",
  roomsHeading: "Salas",
  joinRoomLabel: "Entrar ou criar sala",
  joinRoom: "Entrar",
  roomInvalid: "Nome de sala: 1 a 64 letras sem acento, dígitos, - _ .",
  leaveRoom: (room) => `Sair de ${room}`,
  unread: (count) => (count === 1 ? "1 mensagem não lida" : `${count} mensagens não lidas`),
  membersHeading: "Online",
  messageLabel: "Mensagem",
  messagePlaceholder: "Digite sua mensagem",
  send: "Enviar",
  loadOlder: "Carregar mensagens anteriores",
  beginning: "Início da conversa",
  sending: "enviando…",
  delivered: "entregue",
  retry: "Tentar de novo",
  discard: "Descartar",
  you: "você",
  typing: (names) =>
    names.length === 1 ? `${names[0]} está digitando…` : `${names.slice(0, -1).join(", ")} e ${names[names.length - 1]} estão digitando…`,
  status: {
    connecting: "Conectando…",
    online: "Conectado",
    reconnecting: (seconds) => (seconds > 0 ? `Sem conexão; nova tentativa em ${seconds} s` : "Sem conexão; reconectando…"),
  },
  compatibilityMode: "modo de compatibilidade",
  compatibilityModeExplained: "Algo entre você e o servidor bloqueia WebSockets; o chat segue por HTTP comum, sem perder nada.",
  errors: {
    bad_request: "O servidor não entendeu o pedido.",
    unknown_type: "O servidor não conhece este comando.",
    hello_required: "Conexão ainda não identificada.",
    not_joined: "Você não está nesta sala.",
    invalid_room: "Nome de sala inválido.",
    invalid_name: "Nome inválido.",
    name_taken: "Este nome pertence a uma conta; escolha outro ou entre.",
    too_large: "Mensagem grande demais.",
    rate_limited: "Muitas mensagens seguidas; espere um pouco.",
    unauthorized: "Não autorizado.",
    forbidden: "Você não tem permissão para isso.",
    room_exists: "Já existe uma sala com esse nome.",
    no_such_user: "Não há usuário com esse nome.",
    not_member: "Essa pessoa não é membro da sala.",
    internal: "O servidor falhou ao guardar a mensagem.",
  },
  signedInAs: (name) => `Você é ${name}`,
  changeName: "Trocar nome",
  guest: "convidado",
  authModes: { guest: "Entrar como convidado", signIn: "Entrar na conta", register: "Criar conta" },
  userLabel: "Usuário",
  displayNameLabel: "Nome de exibição (opcional)",
  passwordLabel: "Senha",
  signIn: "Entrar",
  createAccount: "Criar conta",
  signOut: "Sair",
  sessionExpired: "Sua sessão expirou. Entre de novo.",
  signInRequired: "Este servidor só aceita quem tem conta. Entre para conversar.",
  tooManyAttempts: (seconds) => `Tentativas demais. Tente de novo em ${seconds} s.`,
  authErrors: {
    unauthorized: "Usuário ou senha errados.",
    user_taken: "Este nome de usuário já existe.",
    invalid_name: "Usuário: 1 a 32 de a-z 0-9 _ . -",
    weak_password: "A senha precisa de 8 a 256 caracteres.",
    registration_closed: "Este servidor não permite criar contas.",
    offline: "Sem conexão com o servidor.",
  },
  createRoomLabel: "Criar sala",
  createRoom: "Criar",
  visibilityLabel: "Quem pode entrar",
  visibility: { public: "Pública", private: "Privada" },
  privateRoom: "sala privada",
  otherRooms: "Outras salas",
  memberCount: (count) => (count === 1 ? "1 membro" : `${count} membros`),
  inviteLabel: "Convidar (usuário)",
  invite: "Convidar",
  memberMenu: (name) => `Ações para ${name}`,
  directMessage: "Mensagem direta",
  kick: "Remover da sala",
  ban: "Banir da sala",
  makeModerator: "Tornar moderador",
  makeMember: "Tornar membro comum",
  deleteMessage: "Apagar",
  confirmDelete: "Apagar mesmo",
  cancel: "Cancelar",
  messageDeleted: "mensagem apagada",
  dismiss: "Fechar aviso",
  removed: (room, reason) => (reason === "banned" ? `Você foi banido de ${room}.` : `Você foi removido de ${room}.`),
  invited: (room, by) => `${by} convidou você para ${room}.`,
  directMessageOpened: (by) => `${by} abriu uma conversa direta com você.`,
  refused: (room) => `Você não pode entrar em ${room}.`,
  bannedFromServer: "Você foi banido deste servidor.",
  people: (count) => (count === 1 ? "1 pessoa" : `${count.toLocaleString("pt-BR")} pessoas`),
  showPeople: "Ver pessoas",
  hidePeople: "Esconder pessoas",
  searchPeople: "Buscar pessoas",
  morePeople: "Carregar mais",
};

const english: Strings = {
  title: "Real-time Chat",
  namePrompt: "What should people call you?",
  nameLabel: "Your name",
  nameInvalid: "Use 1 to 32 visible characters.",
  start: "Start chatting",
  roomsHeading: "Rooms",
  joinRoomLabel: "Join or create a room",
  joinRoom: "Join",
  roomInvalid: "Room names: 1 to 64 of A-Z a-z 0-9 - _ .",
  leaveRoom: (room) => `Leave ${room}`,
  unread: (count) => (count === 1 ? "1 unread message" : `${count} unread messages`),
  membersHeading: "Online",
  messageLabel: "Message",
  messagePlaceholder: "Type your message",
  send: "Send",
  loadOlder: "Load older messages",
  beginning: "Beginning of the conversation",
  sending: "sending…",
  delivered: "delivered",
  retry: "Retry",
  discard: "Discard",
  you: "you",
  typing: (names) =>
    names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]} are typing…`,
  status: {
    connecting: "Connecting…",
    online: "Connected",
    reconnecting: (seconds) => (seconds > 0 ? `Offline; retrying in ${seconds} s` : "Offline; reconnecting…"),
  },
  compatibilityMode: "compatibility mode",
  compatibilityModeExplained: "Something between you and the server blocks WebSockets; the chat goes on over plain HTTP, losing nothing.",
  errors: {
    bad_request: "The server did not understand the request.",
    unknown_type: "The server does not know this command.",
    hello_required: "The connection is not identified yet.",
    not_joined: "You are not in this room.",
    invalid_room: "Invalid room name.",
    invalid_name: "Invalid name.",
    name_taken: "That name belongs to an account; pick another or sign in.",
    too_large: "The message is too long.",
    rate_limited: "Too many messages in a row; wait a moment.",
    unauthorized: "Not authorized.",
    forbidden: "You are not allowed to do that.",
    room_exists: "A room with that name exists.",
    no_such_user: "There is no user by that name.",
    not_member: "That person is not a member of the room.",
    internal: "The server failed to store the message.",
  },
  signedInAs: (name) => `You are ${name}`,
  changeName: "Change name",
  guest: "guest",
  authModes: { guest: "Continue as a guest", signIn: "Sign in", register: "Create an account" },
  userLabel: "User name",
  displayNameLabel: "Display name (optional)",
  passwordLabel: "Password",
  signIn: "Sign in",
  createAccount: "Create account",
  signOut: "Sign out",
  sessionExpired: "Your session has expired. Sign in again.",
  signInRequired: "This server admits only signed-in users. Sign in to chat.",
  tooManyAttempts: (seconds) => `Too many attempts. Try again in ${seconds} s.`,
  authErrors: {
    unauthorized: "Wrong user name or password.",
    user_taken: "That user name is taken.",
    invalid_name: "User names: 1 to 32 of a-z 0-9 _ . -",
    weak_password: "Passwords are 8 to 256 characters.",
    registration_closed: "This server does not let anyone create an account.",
    offline: "Cannot reach the server.",
  },
  createRoomLabel: "Create a room",
  createRoom: "Create",
  visibilityLabel: "Who may join",
  visibility: { public: "Public", private: "Private" },
  privateRoom: "private room",
  otherRooms: "Other rooms",
  memberCount: (count) => (count === 1 ? "1 member" : `${count} members`),
  inviteLabel: "Invite (user name)",
  invite: "Invite",
  memberMenu: (name) => `Actions for ${name}`,
  directMessage: "Direct message",
  kick: "Remove from room",
  ban: "Ban from room",
  makeModerator: "Make moderator",
  makeMember: "Make regular member",
  deleteMessage: "Delete",
  confirmDelete: "Really delete",
  cancel: "Cancel",
  messageDeleted: "message deleted",
  dismiss: "Dismiss",
  removed: (room, reason) => (reason === "banned" ? `You were banned from ${room}.` : `You were removed from ${room}.`),
  invited: (room, by) => `${by} invited you to ${room}.`,
  directMessageOpened: (by) => `${by} opened a direct message with you.`,
  refused: (room) => `You may not enter ${room}.`,
  bannedFromServer: "You have been banned from this server.",
  people: (count) => (count === 1 ? "1 person" : `${count.toLocaleString("en")} people`),
  showPeople: "Show people",
  hidePeople: "Hide people",
  searchPeople: "Search people",
  morePeople: "Load more",
};

/** Portuguese for any `pt` preference that comes before an English one; English otherwise. */
export function chooseLanguage(preferences: readonly string[]): Language {
  for (const preference of preferences) {
    const lower = preference.toLowerCase();
    if (lower.startsWith("pt")) return "pt-BR";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export function stringsFor(language: Language): Strings {
  return language === "pt-BR" ? portuguese : english;
}
