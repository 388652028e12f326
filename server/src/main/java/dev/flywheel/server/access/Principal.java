package dev.flywheel.server.access;

/**
 * Who is calling: the authenticated token.
 *
 * @param token the token used
 */
public record Principal(Token token) {

    public static final String ATTRIBUTE = "flywheel.principal";

    /** The name recorded as actor in events. */
    public String actor() {
        return token.name() + " (" + token.id() + ")";
    }

    public Role role() {
        return token.role();
    }
}
