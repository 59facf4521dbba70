import { createRoot } from "react-dom/client";
import { App } from "./components/App";
import { defaultServerURL } from "./connection";
import { chooseLanguage } from "./i18n";

const language = chooseLanguage(navigator.languages.length > 0 ? navigator.languages : [navigator.language]);
document.documentElement.lang = language;
createRoot(document.getElementById("root")!).render(<App serverURL={defaultServerURL(window.location)} language={language} />);
