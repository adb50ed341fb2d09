/** Error in the tree, naming the file or directory. */
export class TreeError extends Error {
    name = "TreeError";
}
