import type { Child } from "./dom.js";

/** What a view renders: its heading and its content. */
export interface View {
  title: string;
  content: Child[];
}
