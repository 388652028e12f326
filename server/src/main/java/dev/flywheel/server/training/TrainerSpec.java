package dev.flywheel.server.training;

import java.util.List;
import java.util.Map;

/**
 * What trains: the model runtime's built-in trainer, or the user's own command run under the training job contract.
 *
 * @param type {@code builtin} or {@code command}
 * @param params hyper-parameters, handed to the trainer as {@code FLYWHEEL_PARAMS}
 * @param command for {@code command}: the command line, such as {@code ["/usr/bin/python3", "train.py"]}
 * @param image for {@code command} on container provisioners: the image to run it in, or {@code null}
 */
public record TrainerSpec(String type, Map<String, Object> params, List<String> command, String image) {

    public static final TrainerSpec BUILTIN = new TrainerSpec("builtin", Map.of(), null, null);

    public boolean builtin() {
        return "builtin".equals(type);
    }
}
