/** Vite's `?url` imports: the URL of an asset copied into the page's build. */
declare module "*?url" {
  const url: string;
  export default url;
}
