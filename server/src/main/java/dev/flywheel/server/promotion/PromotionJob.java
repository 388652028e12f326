package dev.flywheel.server.promotion;

import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Quartz job that asks a deployment's promoter on the configured interval. One per deployment with continuous
 * deployment on; on PostgreSQL the cluster runs each fire on one node.
 */
@DisallowConcurrentExecution
public final class PromotionJob implements Job {

    static final String DEPLOYMENT_ID = "deployment_id";
    private static final Logger LOG = LoggerFactory.getLogger(PromotionJob.class);

    private final PromotionEvaluator evaluator;

    public PromotionJob(PromotionEvaluator evaluator) {
        this.evaluator = evaluator;
    }

    @Override
    public void execute(JobExecutionContext context) {
        String deploymentId = context.getMergedJobDataMap().getString(DEPLOYMENT_ID);
        try {
            evaluator.evaluate(deploymentId, "schedule");
        } catch (RuntimeException e) {
            // A failed run must not unschedule the job: the next fire tries again.
            LOG.error("evaluating the shadow of deployment {} failed", deploymentId, e);
        }
    }
}
